// nmem ui: the little the pages do with a script; each of them works without it too.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // The brain switcher switches as soon as another brain is picked (its button is for no-JS).
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    const button = select.form.querySelector("button.switch");
    if (button) button.hidden = true;
    select.addEventListener("change", () => select.form.requestSubmit());
  }
  // A form's button is pressed once: a second click must not send the change twice.
  for (const form of document.querySelectorAll("form[method=post]")) {
    form.addEventListener("submit", () => {
      for (const button of form.querySelectorAll("button[type=submit]")) button.disabled = true;
    });
  }
});
