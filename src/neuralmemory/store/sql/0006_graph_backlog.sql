-- 0006 graph backlog: memories whose concept graph (neurons, synapses, relations) is not built
-- yet. A large pull stores memories and their full-text index first, so recall answers by text
-- at once, and lists them here; core/indexing.py builds their graph afterwards, removing each
-- rid in the transaction that writes its graph, so a crash resumes where it stopped.
CREATE TABLE IF NOT EXISTS graph_backlog (
    rid INTEGER PRIMARY KEY REFERENCES memories (rid) ON DELETE CASCADE
);
