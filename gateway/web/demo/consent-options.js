// A consent request's answer options and deadline as the composer proposes them.
const RESERVED_KEYS = ["withdrawn", "pending", "conflicting", "expired"];

function localInput(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function defaultDeadline() {
  const date = new Date(Date.now() + 14 * 24 * 3600 * 1000);
  date.setHours(12, 0, 0, 0);
  return localInput(date);
}

/** Option keys from labels: "Ja, gerne" → "ja-gerne"; unique, never a reserved word. */
export function optionKeys(labels) {
  const used = new Set();
  return labels.map((label, index) => {
    let key = label.toLowerCase().replace(/æ/g, "ae").replace(/ø/g, "oe").normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "").replace(/[^a-z0-9]+/g, "-").replace(/^[^a-z]+|-+$/g, "").slice(0, 32);
    if (!key || used.has(key) || RESERVED_KEYS.includes(key)) key = `option-${index + 1}`;
    used.add(key);
    return {key, label};
  });
}
