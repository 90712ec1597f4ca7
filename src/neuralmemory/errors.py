"""One exception tree for the whole product; the exact user-facing messages live here.

    NmemError                      base: every error the library raises on purpose
    ├── InvalidInput               bad argument from a user or a client (HTTP 400)
    ├── NotFound                   no such memory, brain, key, conflict copy (HTTP 404)
    ├── ConfigError                config.toml unreadable or invalid (names file and line)
    ├── StoreError                 a brain database cannot be opened, read or written
    ├── CryptoError                key missing, wrong key, wrong passphrase
    └── HubError                   an answer from (or a failure to reach) a sync hub
        ├── AuthError              401 Invalid or expired API key
        ├── AccessDenied           403 Access denied (or a device key asking to manage keys)
        ├── CodeRefused            403 registration closed, or an invite/pairing code refused
        ├── Conflict               409 the last admin key, the key limit
        ├── PayloadTooLarge        413 Payload too large
        ├── QuotaExceeded          413 the account's storage quota (records or bytes) is full
        ├── NotFoundOnHub          404 from a hub: an unknown brain, or not a hub at all
        ├── RateLimited            429 Rate limited (carries retry_after seconds)
        ├── HubBusy                503 Hub busy, retry (carries retry_after seconds)
        ├── StorageRefused         the hub's database refused a write (not the client's fault)
        │   ├── StorageFull        507 the hub's disk is full: nothing written
        │   └── StorageReadOnly    503 the hub's database is read-only: nothing written
        ├── InsecureHubURL         client-side refusal of a non-local http:// hub URL
        ├── TLSFailure             the hub's certificate is not trusted, or TLS failed
        ├── HubUnavailable         network error, timeout or 5xx: retryable
        └── ProtocolError          the hub said something this client cannot understand

`retryable` is a property of the error: only transport failures, 5xx and 429 are worth a retry.
Adapters (CLI, MCP, hub routes) map these to exit codes, tool errors or HTTP statuses; nothing
below them formats errors for a user.

Longer than ~400 lines on purpose: it is the catalogue of every message a user reads (MSG_*, with
its HINT_*), grouped by the part that raises it, so wording is reviewed and changed in one place.
"""

from __future__ import annotations

# The messages users see word for word (docs/protocol.md#errors). The hub and the Worker send the
# same.
MSG_INVALID_KEY = "Invalid or expired API key"
MSG_ACCESS_DENIED = "Access denied"
MSG_PAYLOAD_TOO_LARGE = "Payload too large"
MSG_RATE_LIMITED = "Rate limited"
MSG_HTTPS_REQUIRED = "Cloud hub requires HTTPS"
MSG_BRAIN_NOT_FOUND = "Brain not found"
MSG_NOT_FOUND = "Not found"
MSG_KEY_NOT_FOUND = "Key not found"
MSG_EMAIL_TAKEN = "Email already registered"
MSG_METHOD_NOT_ALLOWED = "Method not allowed"
MSG_NOT_JSON = "Content-Type must be application/json"
MSG_HUB_INTERNAL = "Internal error"  # a crash in the hub: the details stay in its log
#: every 400 of the hub; {detail} says where and what ("body.records.0.hlc: ..."), never a value
MSG_INVALID_REQUEST = "Invalid request: {detail}"
MSG_JSON_TOO_DEEP = "body: JSON nested too deeply"
MSG_JSON_MALFORMED = "body: malformed JSON at line {line} column {column}"
MSG_JSON_NOT_UTF8 = "body: not valid UTF-8 JSON"
MSG_REGISTRATION_CLOSED = (
    "Registration is closed on this hub: ask its operator for an invite code (nmem hub invite)"
)
MSG_INVITE_REQUIRED = (
    "An invite code is required to register on this hub: ask its operator for one (nmem hub invite)"
)
MSG_INVALID_INVITE = (
    "Invalid invite code: it is unknown, already used or expired; ask the hub's operator for a"
    " new one (nmem hub invite)"
)
MSG_INVALID_PAIR_CODE = (
    "Invalid pairing code: it is unknown, already used or expired; run `nmem hub pair` on the"
    " hub for a new one"
)
MSG_METRICS_REFUSED = (
    "Metrics are served only on the hub's own machine, or with the token given to"
    " nmem serve --metrics-token-file"
)
MSG_KEYLESS_REFUSED = (
    "API key required: this hub serves requests without a key only to programs on its own"
    " machine, never through a proxy, a tunnel or a web page"
)
# Refusals of the Python hub's HTTP server (hub/server.py, hub/edge.py), before any route runs.
MSG_REQUEST_TIMEOUT = (
    "Request timeout: the hub stopped waiting for the rest of the request; send it again without "
    "pausing"
)
MSG_HEADERS_TOO_LARGE = (
    "Request headers too large: send at most {max_bytes} bytes of request line and headers, in "
    "at most {max_headers} header lines"
)
MSG_BUSY = "Hub busy, retry"  # the Worker's words for its 503 too
MSG_STORAGE_FULL = (
    "The hub's disk is full: nothing was written. Reads still work; ask its operator to free"
    " space, then sync again"
)
MSG_READ_ONLY = (
    "The hub's database is read-only: nothing was written. Reads still work; ask its operator"
    " to make it writable, then sync again"
)
#: a pushed version stamped beyond max_clock_skew_ms; {where} is e.g. "records.0.hlc"
MSG_CLOCK_AHEAD = (
    "{where}: stamped {ahead} ahead of the hub's clock, more than max_clock_skew_ms"
    " ({limit_h} h) allows: set this device's clock right and sync again (its pending"
    " changes are stamped again then)"
)
MSG_DEVICE_KEY = (
    "This is a device key: it can only sync. Manage keys with an admin key (the one made at "
    "registration, or `nmem hub keys create` on the hub machine)."
)
MSG_LAST_ADMIN_KEY = "Cannot revoke the last admin key: create another admin key first"
MSG_SHARE_NOT_FOUND = "Share not found: the code is wrong, expired or already used"
MSG_SHARE_LIMIT = (
    "Share limit reached: an account may have {limit} key shares waiting; receive them or wait"
    " for them to expire (10 minutes)"
)
MSG_SHARE_TAKEN = "This share id is taken: share again for a new code"
MSG_KEY_LIMIT = (
    "Key limit reached: an account may hold {limit} active keys; revoke unused ones first"
)
# A push refused by the account's quota; {setting} names the hub operator's knob (the Worker
# names its variable). A deletion keeps a tombstone, so only bytes can be freed by forgetting.
MSG_QUOTA_EXCEEDED = "Quota exceeded"  # what a client says of a refusal without a message
MSG_QUOTA_RECORDS = (
    "Record quota exceeded: this account holds {used:,} records on this hub and may hold "
    "{limit:,}; this push would add {added:,}. Deleted records stay on the hub as tombstones, so "
    "forgetting memories does not make room: ask the hub's operator to raise the quota ({setting})"
)
MSG_QUOTA_BYTES = (
    "Storage quota exceeded: this account holds {used:,} bytes on this hub and may hold "
    "{limit:,}; this push would add {added:,}. Forget memories you no longer need (nmem forget "
    "ID) and sync again, or ask the hub's operator to raise the quota ({setting})"
)

# The operator's commands (`nmem hub accounts|keys|brains`, hub/operator.py): each refusal says
# how to find the right name.
MSG_UNKNOWN_EMAIL = "No account has the email {email!r}"
MSG_UNKNOWN_ACCOUNT = "No account has the id {account_id!r}"
HINT_LIST_ACCOUNTS = "`nmem hub accounts` lists every account of this hub"
MSG_UNKNOWN_KEY = "No key has the id {key_id!r} on this hub"
HINT_LIST_KEYS = "`nmem hub keys list --email EMAIL` or `--account ID` lists an account's keys"
MSG_NOT_A_KEY_ID = "{key_id!r} is not a key id: key ids are key_ and 20 hex digits"
MSG_API_KEY_NOT_KEY_ID = "That is an API key, not a key id"
HINT_KEY_ID = "give the key_... id that `nmem hub keys list --email EMAIL` shows"
MSG_ACCOUNT_REQUIRED = "Name the account: --email EMAIL, or --account ID"
MSG_EMAIL_OR_ACCOUNT = "Give --email or --account, not both"
MSG_OPERATOR_LAST_ADMIN = (
    "{key_id} is the last admin key of {account}: without it nobody can manage the account's keys"
)
HINT_OPERATOR_LAST_ADMIN = (
    "make another first with `nmem hub keys create --account {account_id}`, or revoke it anyway "
    "with --force: `nmem hub keys create` can always make a new one"
)
MSG_NO_HUB_DB = "No hub database at {path}"
HINT_NO_HUB_DB = "give the one nmem serve uses with --db: sqlite:///path/hub.db or postgresql://..."
MSG_BAD_KEY_NAME = "A key name is 1 to 64 characters, without control characters"

# Client-side messages: what `nmem sync` and the MCP tools say about a hub, each with what to do.
MSG_NOT_CONFIGURED = "Sync is not configured"
HINT_NOT_CONFIGURED = "run `nmem sync config setup` for the steps"
MSG_NOT_AN_API_KEY = "that is not an API key"
HINT_NOT_AN_API_KEY = "keys look like nmk_ followed by 32+ letters/digits"
MSG_UNKNOWN_STRATEGY = "unknown conflict strategy {name!r}"
MSG_UNKNOWN_ACTION = "unknown sync action {name!r}"
HINT_ONE_OF = "one of {names}"
MSG_NOT_A_PAIR_LINE = "not a pairing line: {reason}"
HINT_NOT_A_PAIR_LINE = (
    "copy it whole from `nmem serve --lan` or `nmem hub pair`, e.g. "
    "nmem sync pair 7KQX-M2PD-9RTA-B3CE@192.168.1.20:8000"
)
MSG_NO_PAIRING = "{url} does not pair devices"
HINT_NO_PAIRING = (
    "a Cloudflare hub has none: register there or make a key, then "
    "`nmem sync config set --hub-url ... --api-key ...`"
)
MSG_AUTH_UNKNOWN = "could not ask the hub whether it needs a key: {error}"
MSG_NO_CONFLICT = "no open conflict {id!r}"
HINT_NO_CONFLICT = "`nmem sync conflicts` lists them"
MSG_NOT_A_HUB_URL = "not a hub URL: {url!r}"
HINT_NOT_A_HUB_URL = "use https://your-hub or http://127.0.0.1:8000"
MSG_NO_ADDRESS = "no address for {host}"
MSG_CANNOT_RESOLVE = "cannot resolve {host!r} ({reason})"
MSG_UNREADABLE_REPLY = "the hub sent a reply this client cannot read ({method} {path})"
MSG_HUB_GAVE_UP = "the hub timed out waiting for the request"
MSG_HUB_FAILED = "the hub failed with HTTP {status}"
MSG_HUB_REFUSED = "the hub refused the request: {reason}"
MSG_KEY_REQUIRED = "This hub requires an API key"
HINT_KEY_REQUIRED = (
    "set one with `nmem sync config set --api-key nmk_...`; ask the hub's operator for a key, "
    "or register (`nmem sync config setup` shows how)"
)
HINT_INVALID_KEY = (
    "the hub does not know this key, or it was revoked: make a new key with an admin key, "
    "POST /v1/auth/keys, then `nmem sync config set --api-key nmk_...`; no admin key left? the "
    "hub's operator makes one with `nmem hub keys create`"
)
HINT_ACCESS_DENIED = (
    "the hub knows the key, but this brain belongs to another account: use a key of the account "
    "that owns the brain, or sync another brain (--brain)"
)
HINT_RATE_LIMITED = "the hub limits requests per key and per account; try again in {seconds:g} s"
HINT_SERVER_ERROR = "a fault in the hub, not in your data: try again later; its log says more"
MSG_NOT_A_HUB = "{url} answered 404 to {path}: is it a Neural Memory hub?"
HINT_NOT_A_HUB = "check hub_url (`nmem sync config get`): the hub's address, with no extra path"
MSG_SPLIT = (
    "split: the hub holds other brains named {name} ({ids}) whose memories are not in the one"
    " this device syncs with; run `nmem sync full` to merge them into one"
)
MSG_ALONE = (
    "alone: this device is the only one syncing hub brain {mine}; your other devices sync"
    " another brain named {name}: run `nmem sync full` here to merge this device into theirs"
)
MSG_ELSEWHERE = (
    "elsewhere: device {device} ({device_id}) syncs another brain named {name} ({brain_id},"
    " last sync {when}): run `nmem sync full` on that device to merge it into this one"
)
MSG_UNREACHABLE = "Cannot reach the hub at {url}"
HINT_UNREACHABLE = (
    "{detail}; is the hub running, and is the address right? `nmem sync status` shows the URL"
)
MSG_TIMEOUT = "The hub at {url} did not answer within {seconds:g} s"
HINT_TIMEOUT = "{kind}; a busy or far-away hub, or a firewall dropping the connection"
MSG_TLS_UNTRUSTED = "The hub's TLS certificate is not trusted"
HINT_TLS_UNTRUSTED = (
    "self-signed or from a private CA? pass its CA certificate: `nmem sync config set --ca-cert "
    "FILE` (PEM), or set SSL_CERT_FILE=FILE"
)
HINT_TLS_HOSTNAME = "connect with a name or address the certificate was issued for"
HINT_TLS_EXPIRED = "the hub's operator must renew its certificate"
MSG_TLS_FAILED = "TLS with the hub at {url} failed: {reason}"
HINT_TLS_FAILED = (
    "is the hub serving https? `nmem serve` does only with --tls-cert/--tls-key; "
    "a hub on loopback or a LAN can use http://"
)
MSG_NAME_NOT_LAN = "{host} resolves to {address}, which is not a loopback or private LAN address"
HINT_NAME_NOT_LAN = (
    "use https://, or the hub's LAN IP address (http://192.168.x.y:8000); plain http is only "
    "allowed to loopback and private LAN addresses"
)
MSG_KEY_NOT_URL = "that looks like an API key, not a hub URL"
HINT_KEY_NOT_URL = "give the key as --api-key (MCP: api_key) and the hub's address as --hub-url"
MSG_BAD_CA_CERT = "cannot use {path} as a CA certificate: {reason}"
HINT_BAD_CA_CERT = "give a PEM file holding the certificate of the CA (or the self-signed hub)"
# A sync client facing a faulty or hostile hub
# (docs/sync.md#a-faulty-or-hostile-hub-quarantine-limits-deadlines).
MSG_QUARANTINED_CONFLICT = "conflict copy {id} is quarantined: {reason}"
MSG_DOWNGRADE = (
    "refused: device {device} made this encrypted memory plaintext, which no edit does; the"
    " encrypted version is kept and shown, and its conflict copy (nmem sync conflicts) makes it"
    " current on every device again: nmem sync restore ID"
)
HINT_QUARANTINED = (
    "a device wrote a record this client cannot read; it is kept, listed by `nmem sync status`,"
    " and used again once a valid version replaces it"
)
MSG_CURSOR_STUCK = (
    "the hub's pull cursor did not advance (it sent {cursor} after {previous}, with more to come)"
)
MSG_CURSOR_BACK = "the hub's pull cursor went back (from {previous} to {cursor})"
MSG_EMPTY_LISTING_PAGE = "the hub sent an empty bucket listing page with more to come"
MSG_LISTING_STUCK = "the hub's bucket listing did not move forward"
HINT_HUB_FAULT = (
    "a fault in the hub, not in this brain: nothing was lost and the cursor stays at the last"
    " page applied; tell the hub's operator, and sync again once it is fixed"
)
MSG_REPLY_TOO_LARGE = (
    "The hub at {url} sent a reply larger than {limit:,} bytes (what its advertised limits allow)"
)
MSG_REQUEST_DEADLINE = "The hub at {url} did not finish its reply within {seconds:g} s"
HINT_REQUEST_DEADLINE = (
    "a hub sending its reply too slowly (a very slow link, or a faulty hub); try again later"
)
MSG_SYNC_DEADLINE = "The sync of brain {brain} took longer than {seconds:g} s and was stopped"
HINT_SYNC_DEADLINE = (
    "everything applied so far is kept; run `nmem sync full` again to go on from there"
)
# The local web UI (`nmem ui`, docs/ui.md): its command, and its guard's refusals (ui/guard.py).
MSG_UI_BAD_PORT = "{value!r} is not a port: give a number from 0 to 65535 (0 takes any free one)"
MSG_UI_PORT_IN_USE = "Port {port} on 127.0.0.1 is already in use by another program"
HINT_UI_PORT_IN_USE = "pick another with --port, or --port 0 for any free one"
MSG_UI_PORT_REFUSED = "Cannot listen on 127.0.0.1 port {port}: {reason}"
HINT_UI_PORT_REFUSED = "ports below 1024 need root: pick one from 1024 up, or --port 0"
MSG_UI_BAD_HOST = (
    "Refused: this page answers only to http://127.0.0.1:{port} and http://localhost:{port}"
    " (the request named {host!r}): a web page cannot reach it through another name"
)
MSG_UI_NO_SESSION = (
    "Refused: open the address `nmem ui` printed, with its token; every `nmem ui` makes a new one"
)
MSG_UI_METHOD = "Method not allowed: this page takes GET, and POST from its own forms"
MSG_UI_CROSS_SITE = "Refused: a change sent from another site ({origin})"
MSG_UI_NOT_A_FORM = "Refused: a change is sent by a form of this page (a urlencoded POST body)"
MSG_UI_NO_CSRF = (
    "Refused: this change lacks the page's CSRF token (a form from another `nmem ui`?): reload"
    " the page and try again"
)
MSG_UI_TOO_LARGE = "Refused: a form may send at most {limit:,} bytes"
MSG_UI_SUPERSEDE_WITH = (
    "give the text of a new memory, or the id of an existing one, that replaces this memory"
)
MSG_INTERNAL = "Unexpected error: {kind}: {detail}"
HINT_INTERNAL = "a bug in nmem, not in your data: please report it with the command you ran"
# The memory API's refusals (core/checks.py, core/brain.py, core/brains.py, core/keyring.py).
MSG_CONTENT_EMPTY = "content must be non-empty text"
MSG_CONTENT_TOO_LARGE = "content is {size:,} bytes; the limit is {limit:,}"
MSG_CONTENT_NOT_TEXT = "content must be valid text (no lone surrogates)"
MSG_CONTENT_ALL_PRIVATE = "content is all inside <private>...</private>, which is never stored"
HINT_CONTENT_ALL_PRIVATE = "put what may be stored outside the tags"
MSG_CONTENT_CREDENTIAL = "content holds {secret}; secrets are never stored"
HINT_CONTENT_CREDENTIAL = "remove it (keep it in a password manager) and remember the rest"
MSG_UNKNOWN_TYPE = "unknown type {type!r}"
MSG_TAGS_NOT_LIST = "tags must be a list of strings"
MSG_TAG_NOT_TEXT = "tags must be strings, not {kind}"
MSG_TAG_LENGTH = "a tag must be 1 to {limit} characters"
MSG_TOO_MANY_TAGS = "at most {limit} tags"
MSG_PRIORITY_NOT_INT = "priority must be an integer from 0 to {limit}"
MSG_PRIORITY_RANGE = "priority {priority} is out of range (0 to {limit})"
MSG_QUERY_EMPTY = "the query must be non-empty text"
MSG_QUERY_TOO_LONG = "the query is longer than {limit:,} characters"
MSG_BAD_LIMIT = "limit must be an integer from 1 to {limit}"
MSG_WINDOW_BACKWARDS = "--since must be earlier than --until"
HINT_WINDOW_BACKWARDS = "swap them"
MSG_BAD_EXPIRES = "expires_days must be an integer from 1 to {limit}"
MSG_ENCRYPTED_NOT_BOOL = "encrypted must be true or false"
MSG_NOTHING_TO_CHANGE = "nothing to change"
HINT_NOTHING_TO_CHANGE = "give content, tags, priority, type or supersedes"
MSG_SUPERSEDES_ITSELF = "a memory cannot supersede itself"
HINT_SUPERSEDES_ITSELF = "give another memory's id"
MSG_SUPERSEDED_ALREADY = "{new} is itself superseded by {newer}"
HINT_SUPERSEDED_ALREADY = "supersede {old} with {newer} instead"
MSG_MEMORY_ID_NOT_TEXT = "a memory id must be text"
MSG_NO_MEMORY = "no memory with id {id}"
MSG_E2E_ADOPTED = "brain {name} is end-to-end encrypted by another device: here too"
MSG_RECALL_UNCOUNTED = (
    "brain {name} is locked by another process: this recall answered, its uses were not counted"
)
MSG_BAD_BRAIN_NAME = "invalid brain name {name!r}"
HINT_BAD_BRAIN_NAME = (
    "letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64"
)
HINT_CREATE_BRAIN = "nmem brain create {name}"
HINT_LIST_BRAINS = "`nmem brain list` names them"
MSG_BRAIN_EXISTS = "brain '{name}' already exists"
MSG_BAD_BRAIN_ID = "invalid brain id {brain_id!r}"
MSG_REKEY_NOT_EMPTY = "brain {name} holds records; only an empty brain can take another id"
HINT_REKEY_NOT_EMPTY = "sync it into the remote brain instead"
MSG_KEYED_ELSEWHERE = (
    "brain {name} is already encrypted with a key this device does not hold"
    " (fingerprint {fingerprint})"
)
MSG_SEALED_NO_KEY = "brain {name} holds encrypted memories but their key is not on this device"
MSG_KEY_WRONG_FOR_BRAIN = (
    "the key for brain {name} does not decrypt its encrypted memories (wrong key)"
)
HINT_KEY_WRONG_FOR_BRAIN = "import the right key: nmem keys receive CODE or nmem keys import"
MSG_NO_BRAIN_KEY = "no key for brain {name} ({brain_id}) on this device"
HINT_GET_KEY = (
    "get it from a device that has it: `nmem keys share` there, then `nmem keys receive CODE`"
    " here (or nmem keys export / nmem keys import)"
)
# Keys and key files (core/crypto.py).
MSG_KEY_FILE_INVALID = "the key file is not a valid Fernet key"
MSG_WRONG_KEY = "this brain's key cannot decrypt the memory (wrong key)"
HINT_WRONG_KEY = "import the key the memory was written with: nmem keys import"
MSG_KEY_FILE_UNREADABLE = "cannot read {path}: {reason}"
MSG_KEY_FILE_EMPTY = "empty key file"
MSG_KEY_FILE_DAMAGED = "{path} is not a valid key file (truncated or damaged)"
HINT_KEY_FILE_DAMAGED = "it was not changed; import the brain's key again: nmem keys import"
MSG_PHRASE_TOO_SHORT = "the passphrase must be at least {limit} characters"
MSG_NO_KEY_TO_EXPORT = "no key for brain {brain_id} on this device"
HINT_NO_KEY_TO_EXPORT = "a key is made by the first encrypted memory, or imported"
MSG_NO_KEY_FILE = "no such key file: {path}"
MSG_NOT_A_KEY_EXPORT = "{path} is not an nmem key export"
MSG_WRONG_PHRASE = "wrong passphrase for this key file"
HINT_WRONG_PHRASE = "nothing was changed"
# The wire's canonical form and versions (protocol.py): the {detail} of MSG_INVALID_REQUEST.
MSG_LONE_SURROGATES = "strings must not contain lone surrogates"
MSG_UNSAFE_INTEGER = "integer outside +-(2**53 - 1)"
MSG_TOO_DEEP = "nested deeper than {depth} levels"
MSG_KEY_NOT_STRING = "object keys must be strings"
MSG_FRACTION = "numbers must be integers (fractions have no portable text)"
MSG_NOT_JSON_VALUE = "not a JSON value: {kind}"
MSG_HLC_DEVICE = "hlc must end with the record's device_id"
MSG_TOMBSTONE_BODY = "a deleted record (tombstone) must have an empty body"
MSG_VHASH_MISMATCH = "vhash does not match the record's canonical form"
MSG_REPLACES_UNKNOWN = "replaces: every key must be the vhash of a version in records"
MSG_PAIR_TARGET = "expected CODE@HOST:PORT"
MSG_PAIR_PORT = "the port must be 1-65535"
# A hub's operator (hub/backup.py, cli/serve.py).
MSG_NO_HUB_DB_TO_BACK_UP = "no hub database at {path}"
HINT_NO_HUB_DB_TO_BACK_UP = "pass --db with the hub's file"
MSG_BACKUP_EXISTS = "{path} already exists; choose a new file name"
MSG_BACKUP_FAILED = "cannot back up {path}: {reason}"
MSG_NOT_A_HUB_DB = "{path} is not a hub database (no records table)"
MSG_NOT_A_NETWORK = "not an IP address or network: {value!r}"
MSG_BEARER_FILE_WITHOUT_METRICS = "--metrics-token-file goes with --metrics"
MSG_METRICS_BEARER_SHORT = (
    "the metrics token must be at least {limit} characters"
    " (for example: openssl rand -hex 32 > metrics.token)"
)
MSG_NOT_A_SIZE = "not a size: {value!r} (for example 1GiB, 500MB or 1048576)"
MSG_NO_AUTH_CONTRADICTS = "--no-auth contradicts --require-keys and --lan"
MSG_TLS_PAIR = "--tls-cert and --tls-key go together"
MSG_LAN_WITH_TLS = "--lan pairs devices over plain http; with TLS use --host instead"
# Importing from the other product called Neural Memory (core/from_neural_memory.py).
MSG_NOT_THEIR_BRAIN = "{path} is not a brain of the other Neural Memory ({reason})"
HINT_NOT_THEIR_BRAIN = "give a file from its ~/.neuralmemory/brains/ folder"

# Files the device reads and writes (config.py, jsonfile.py, cli/transfer.py, mcp/install.py).
MSG_CANNOT_READ = "cannot read {path}: {reason}"
MSG_CANNOT_WRITE = "cannot write {path}: {reason}"
MSG_NO_FILE = "no file {path}"
MSG_NOT_UTF8_TEXT = "{path} is not UTF-8 text ({reason})"
HINT_FILE_UNCHANGED = "fix or remove the file; it was not changed"
HINT_LINE_UNCHANGED = "fix or remove the line; the file was not changed"
HINT_NOTHING_CHANGED = "nothing was changed"
MSG_FILE_NOT_JSON = "{path} is not valid JSON at line {line}, column {column}"
MSG_NOT_JSON_OBJECT = "{path}: expected a JSON object{shape}"
MSG_FILE_NOT_TOML = "{path} is not valid TOML at line {line}, column {column}"
MSG_EXPECTED_TABLE = "{path}: expected '{name}' to be a table"
# config.toml (config.py).
MSG_CONFIG_NOT_TOML = "{path} is not valid TOML{at}"
MSG_CONFIG_WRONG_TYPE = "{path}: '{key}' must be a {kind}; the file was not changed"
HINT_CONFIG_WRONG_TYPE = (
    "fix it; or, if another program wrote it (another product is also named"
    " Neural Memory and uses ~/.neuralmemory), give this nmem a folder of its"
    " own: export NMEM_HOME=~/.nmem"
)
MSG_CONFIG_UNKNOWN_STRATEGY = "{path}: unknown conflict_strategy '{value}'"
MSG_UNKNOWN_HUB_AUTH = "{path}: unknown hub_auth '{value}'"
HINT_UNKNOWN_HUB_AUTH = "remove the line: it is learned again from the hub"
MSG_NOT_A_TABLE = "{path}: '{name}' must be a table ([{name}])"
HINT_CONFIG_UNWRITTEN = "it was not changed; free some space (or fix the folder) and try again"
# A brain's database (store/db.py, store/migrations.py).
MSG_CANNOT_OPEN = "cannot open {path}: {reason}"
HINT_CHECK_PATH = "check the path and its folder"
HINT_BRAIN_UNREADABLE = "check that the file and its folder are readable"
MSG_PATH_FAILED = "{path}: {reason}"
MSG_NOT_OUR_BRAIN = (
    "{path} is not a brain of this nmem (it holds tables {tables}); it was not changed"
)
#: what the messages about another program's file say to do
HINT_OWN_HOME = (
    "another program keeps its files there (another product is also named Neural Memory and"
    " uses ~/.neuralmemory); give this nmem a folder of its own: export NMEM_HOME=~/.nmem"
)
MSG_BRAIN_LOCKED = "{path} is locked by another process"
HINT_BRAIN_LOCKED = "try again in a moment"
MSG_BRAIN_CORRUPT = "{path} is not a readable brain database (corrupt or not SQLite)"
HINT_BRAIN_CORRUPT = "restore it from a backup or move it aside; it was not changed"
MSG_NEWER_SCHEMA = "{path} was written by a newer nmem (schema {found}, this one knows {known})"
HINT_UPGRADE_NMEM = "upgrade nmem"
MSG_INCOMPLETE_SQL = "incomplete SQL statement in migration: {start}"
MSG_MIGRATION_FAILED = "{path}: migration {number:04d}_{name} failed: {reason}"
# Brains and memories (core/brains.py, core/browse.py, core/project.py, core/timespan.py).
MSG_BRAIN_NOT_FOUND_NAMED = MSG_BRAIN_NOT_FOUND + ": {name}"
MSG_NO_MEMORY_ID = "no memory with id {id}"
HINT_LIST_SHOWS_IDS = "`nmem list` shows the ids"
HINT_GIVE_LISTED_ID = "give an id `nmem list` shows"
MSG_BAD_PROJECT = "a project must be 1 to {limit} characters of one line, not {given!r}"
HINT_BAD_PROJECT = "e.g. github.com/ada/falcon (what nmem detects in a git checkout)"
MSG_NOT_A_TIME = "{text!r} is not a time"
HINT_TIMESPAN = "a span back from now (30m, 12h, 7d, 2w) or a date (2026-12-01, 2026-12-01T09:30)"
# End-to-end encrypted brains (core/e2e.py, core/keyshare.py, sync/keyshare.py).
MSG_E2E_NOT_SEALED = (
    "not sealed, in an end-to-end encrypted brain: a plaintext version (a downgrade) is refused"
)
MSG_E2E_NOT_OPENED = (
    "sealed record failed authentication: not made with a key this device holds, or changed,"
    " moved or replayed by the hub"
)
MSG_E2E_NO_KEY = (
    "sealed record of an end-to-end encrypted brain, and this device lacks the brain's key"
    " (nmem keys receive CODE)"
)
MSG_E2E_KEY_MISSING = "this brain is end-to-end encrypted and its key is not on this device"
HINT_E2E_KEY_MISSING = (
    "get it from a device that has it: nmem keys share there, then nmem keys receive CODE here"
)
MSG_SHARE_CODE_WRONG = "this code does not open the key the hub sent"
MSG_NO_SHARE = "no key waits on the hub for this code: it is wrong, expired or already used"
HINT_NO_SHARE = "nothing was changed; run `nmem keys share` again on the device that has the key"
MSG_NO_KEY_TO_SHARE = "no key for brain {name} on this device"
HINT_NO_KEY_TO_SHARE = (
    "share from a device that has it; a key is made by the first encrypted memory"
)
# Export and import (cli/transfer.py, core/importer.py, core/from_*.py).
MSG_JSON_NEEDS_OUTPUT = "--json needs -o FILE"
HINT_JSON_NEEDS_OUTPUT = "the export itself goes to stdout"
MSG_IMPORT_NEEDS_FILE = "give the FILE to import"
HINT_IMPORT_NEEDS_FILE = "nmem import FILE"
MSG_NOT_AN_EXPORT = 'line 1: not an nmem export (it starts with {{"format": "{format}", ...}})'
HINT_NOT_AN_EXPORT = (
    "for the other Neural Memory's brain use --from neural-memory, for the MCP"
    " memory server's file --from mcp-memory (docs/export.md)"
)
MSG_EXPORT_VERSION = "line 1: export format version {found!r}; this nmem reads version {version}"
HINT_EXPORT_VERSION = "upgrade nmem to import it"
MSG_CONTENT_OR_CIPHERTEXT = "a memory has exactly one of content and ciphertext"
MSG_CIPHERTEXT_NEEDS_FLAG = "ciphertext needs encrypted: true"
MSG_NOT_UTC_TIME = "{field}: {text!r} is not a UTC time such as 2026-12-05T02:16:17.379Z"
MSG_NO_THEIR_BRAIN = "no brain of the other Neural Memory at {path}"
HINT_NO_THEIR_BRAIN = "give its file, e.g. ~/.neuralmemory/brains/default.db"
MSG_MCP_MEMORY_NOT_JSON = "not JSON"
MSG_MCP_MEMORY_NOT_OBJECT = "not a JSON object"
MSG_MCP_MEMORY_TYPE = "type must be entity or relation, not {kind!r}"
MSG_MCP_MEMORY_OBSERVATIONS = "observations must be a list of strings"
MSG_MCP_MEMORY_EMPTY = "{key} must be non-empty text"
# Hooks, MCP setup and the web UI (hooks/*.py, mcp/*.py, ui/app.py).
MSG_EVENT_NOT_JSON = "the event is not JSON ({reason})"
MSG_EVENT_NOT_OBJECT = "the event is not a JSON object"
MSG_HOOKS_NOT_GROUPS = (
    "{path}: hooks.{name} is not a list of matcher groups, each with a 'hooks' list of objects"
)
MSG_OPTION_CHOICE = "{where} must be one of {choices}"
MSG_OPTION_NUMBER = "{where} must be a number from {low:g} to {high:g}"
MSG_OPTION_WHOLE = "{where} must be a whole number from {low:g} to {high:g}"
MSG_OPTION_RANGE = "{where} is {value}; it must be from {low:g} to {high:g}"
MSG_NO_NMEM_EXECUTABLE = "cannot find the nmem executable"
HINT_NO_NMEM_EXECUTABLE = "install neuralmemory so that `nmem` is on PATH"
MSG_ACTION_NO_SETTINGS = "action={action!r} takes no settings"
HINT_ACTION_NO_SETTINGS = 'use action="set" to change them'
MSG_NO_SUCH_PAGE = "No such page"
# Running a hub (cli/hub.py, hub/backends/postgres.py).
MSG_NOT_A_DURATION = "{value!r} is not a duration such as 30s, 10m, 12h or 7d"
MSG_NO_LAN_ADDRESS = "this machine has no LAN address; give the hub's with --host"
MSG_BACKUP_SQLITE_ONLY = (
    "nmem hub backup copies SQLite hubs; for PostgreSQL use pg_dump (docs/hub.md, Backups)"
)
MSG_BAD_HUB_DB_URL = "the database URL must be sqlite:///path/to/hub.db or postgresql://..."
MSG_POSTGRES_UNREACHABLE = "cannot connect to PostgreSQL at {host}:{port}{path}"
HINT_POSTGRES_UNREACHABLE = "is it running, and may this user connect to that database?"
# Reaching a hub (sync/transport.py).
MSG_TLS_UNTRUSTED_BECAUSE = MSG_TLS_UNTRUSTED + ": {reason}"
HINT_NAME_NOT_LAN_AT = "{named}; " + HINT_NAME_NOT_LAN


class NmemError(Exception):
    """Base of every error the library raises on purpose."""

    retryable: bool = False
    #: machine-readable code, also used as the hub's `code` field
    code: str = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InternalError(NmemError):
    """Anything else a command raised: a bug, shown as one clear line instead of a traceback."""

    code = "internal_error"

    @classmethod
    def of(cls, exc: Exception) -> InternalError:
        detail = " ".join(str(exc).split())[:200] or "-"
        return cls(MSG_INTERNAL.format(kind=type(exc).__name__, detail=detail), hint=HINT_INTERNAL)


class InvalidInput(NmemError):
    code = "invalid_request"


class NotFound(NmemError):
    code = "not_found"


class ConfigError(NmemError):
    code = "config_error"


class StoreError(NmemError):
    code = "store_error"


class StoreLocked(StoreError):
    """Another process held the brain's write lock past the busy timeout."""


class CryptoError(NmemError):
    code = "crypto_error"


class HubError(NmemError):
    code = "hub_error"

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class AuthError(HubError):
    code = "invalid_key"

    def __init__(self, message: str = MSG_INVALID_KEY, *, hint: str | None = None) -> None:
        super().__init__(message, status=401, hint=hint)


class AccessDenied(HubError):
    code = "access_denied"

    def __init__(self, message: str = MSG_ACCESS_DENIED, *, hint: str | None = None) -> None:
        super().__init__(message, status=403, hint=hint)


class CodeRefused(HubError):
    """403 with its own code: registration_closed, invalid_invite or invalid_pair_code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, status=403)
        self.code = code


class Conflict(HubError):
    code = "conflict"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, status=409, hint=hint)


class PayloadTooLarge(HubError):
    code = "payload_too_large"

    def __init__(self, message: str = MSG_PAYLOAD_TOO_LARGE, *, hint: str | None = None) -> None:
        super().__init__(message, status=413, hint=hint)


class QuotaExceeded(HubError):
    """413 for a push that would take the account past its quota. Not a PayloadTooLarge: a
    smaller batch does not help, so a client must not split and resend it."""

    code = "quota_exceeded"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, status=413, hint=hint)


class RateLimited(HubError):
    code = "rate_limited"
    retryable = True

    def __init__(
        self, retry_after: float, message: str = MSG_RATE_LIMITED, *, hint: str | None = None
    ) -> None:
        super().__init__(message, status=429, hint=hint)
        self.retry_after = retry_after


class NotFoundOnHub(HubError):
    """404 from the hub (an unknown brain on digest, fetch or devices)."""

    code = NotFound.code

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, status=404, hint=hint)


class HubBusy(HubError):
    """The hub is saturated (its database pool, a statement timeout, or this account's share of
    it): the request may be sent again as it is after `retry_after` seconds (every hub write is
    idempotent, and a refused durable write left nothing behind)."""

    code = "busy"
    retryable = True

    def __init__(self, retry_after: float = 1, message: str = MSG_BUSY) -> None:
        super().__init__(message, status=503)
        self.retry_after = retry_after


class StorageRefused(HubError):
    """The hub's database could not make a write. Not retryable by itself: an operator must
    act first. A hub's reads never depend on a write, so they still work (docs/hub.md)."""


class StorageFull(StorageRefused):
    code = "storage_full"

    def __init__(self, message: str = MSG_STORAGE_FULL) -> None:
        super().__init__(message, status=507)


class StorageReadOnly(StorageRefused):
    code = "read_only"

    def __init__(self, message: str = MSG_READ_ONLY) -> None:
        super().__init__(message, status=503)


class InsecureHubURL(HubError):
    code = "https_required"

    def __init__(self, message: str = MSG_HTTPS_REQUIRED, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)


class TLSFailure(HubError):
    """The TLS handshake failed: not retryable, the user must fix trust or the URL."""

    code = "tls_error"


class HubUnavailable(HubError):
    code = "hub_unavailable"
    retryable = True


class HubTooSlow(HubUnavailable):
    """A reply that did not finish within the request's overall deadline: a hub that drips its
    reply would do the same again, so it is not retried."""

    retryable = False


class ProtocolError(HubError):
    code = "protocol_error"


class SyncTimeout(HubError):
    """A sync that ran past its overall deadline; what it applied is kept."""

    code = "sync_timeout"
