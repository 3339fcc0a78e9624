// Panels that live in their own modules (consent answers, daycare notices, push,
// preferences), loaded the first time they are needed. A portal that serves an older
// gateway without one of them still gets a working inbox and a short note.

import {h} from "./dom.js";

const LOADERS = {
  consent: () => import("./consent.js"),
  notices: () => import("./notices.js"),
  preferences: () => import("./preferences.js"),
  push: () => import("./push.js"),
};

/** Load a panel module and run `render(module)`; a note in `container` if it cannot. */
export async function loadPanel(ctx, container, name, render) {
  let module;
  try {
    module = await LOADERS[name]();
  } catch {
    container.append(h("p", {class: "empty"}, ctx.i18n.t("This part is not available yet.")));
    return false;
  }
  try {
    await render(module);
  } catch (error) {
    ctx.showError(container, error);
    return false;
  }
  return true;
}
