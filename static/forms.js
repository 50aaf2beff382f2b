// Forms that show the server's refusals where they belong: each field error under its field,
// the message (and any error no field claims) above the submit button.

import { fill, h, notice } from "./dom.js";

/** A labelled control with the place its error goes: [label, error] to put in a form. */
export function labelled(label, input, { hint = "" } = {}) {
  const error = h("p", { class: "field-error", id: `${input.id}-error` });
  input.setAttribute("aria-describedby", error.id);
  return {
    error,
    nodes: [
      h(
        "label",
        { class: "field", for: input.id },
        h("span", { class: "field-label" }, label),
        hint && h("span", { class: "field-hint muted" }, hint),
        input,
      ),
      error,
    ],
  };
}

/**
 * Where a form's problems go. `claim(name, input, error)` names the API field an input answers
 * for ("effective_on", "changes.items[0].quantity"); `show(problem)` takes an ApiError (or any
 * {message, fields}) and puts each field's message in its place, the rest in `box`.
 */
export function problems(box) {
  const places = new Map();
  return {
    claim(name, input, error) {
      places.set(name, { input, error });
    },
    clear() {
      fill(box);
      for (const { input, error } of places.values()) {
        error.textContent = "";
        input.removeAttribute("aria-invalid");
      }
    },
    show(problem) {
      const unplaced = [];
      let first = null;
      for (const f of problem.fields || []) {
        const place = places.get(f.field);
        if (!place) {
          unplaced.push(f.message);
          continue;
        }
        place.error.textContent = place.error.textContent ? `${place.error.textContent}；${f.message}` : f.message;
        place.input.setAttribute("aria-invalid", "true");
        first = first || place.input;
      }
      fill(
        box,
        notice("error", problem.message, unplaced.length > 0 && h("ul", { class: "problem-list" }, unplaced.map((m) => h("li", {}, m)))),
      );
      if (first) first.focus();
    },
    say(kind, ...text) {
      fill(box, notice(kind, ...text));
    },
  };
}

/** A form that opens when asked for: the page is read first, the rarer change comes second. */
export function disclosure(title, form) {
  return h("details", { class: "disclosure" }, h("summary", { class: "button" }, title), form);
}
