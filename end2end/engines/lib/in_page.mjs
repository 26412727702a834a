// What the specs ask of a page, as functions that run inside it. They travel as source text,
// composed in Node (`(describe)((locateAll), target)`), so none may close over anything. One copy
// for every engine: puppeteer evaluates the text over WebDriver BiDi or CDP, selenium sends it as
// a classic WebDriver script; neither is subject to the page's CSP, which forbids `eval`.

/**
 * Finds what a spec names: a CSS selector (string), `{ testId }`, `{ label }` (the control a
 * <label> names), or `{ role, name }` like Playwright's getByRole (name: exact text after
 * whitespace is collapsed, or `{ source, flags }` of a RegExp), optionally `within` another
 * target. Hidden elements are left out. Returns every match.
 */
export function locateAll(target) {
  const ROLES = {
    button: 'button, [role="button"], input[type="submit"], input[type="button"]',
    link: 'a[href], [role="link"]',
    heading: 'h1, h2, h3, h4, h5, h6, [role="heading"]',
    region: 'section[aria-label], section[aria-labelledby], [role="region"]',
    listitem: 'li, [role="listitem"]',
    alertdialog: '[role="alertdialog"]',
    dialog: 'dialog, [role="dialog"]',
    status: '[role="status"], output',
    alert: '[role="alert"]',
    textbox: 'input:not([type]), input[type="text"], input[type="password"], textarea',
    definition: 'dd, [role="definition"]',
  };
  const squash = (text) => (text ?? '').replace(/\s+/g, ' ').trim();
  const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const nameOf = (el) => {
    if (el.hasAttribute('aria-label')) return squash(el.getAttribute('aria-label'));
    const by = el.getAttribute('aria-labelledby');
    if (by) return squash(by.split(/\s+/).map((id) => document.getElementById(id)?.textContent).join(' '));
    if (el.labels && el.labels.length) return squash([...el.labels].map((l) => l.textContent).join(' '));
    if (el instanceof HTMLInputElement) return squash(el.value);
    return squash(el.textContent);
  };
  const matches = (actual, wanted) =>
    typeof wanted === 'string' ? actual === wanted : new RegExp(wanted.source, wanted.flags).test(actual);
  const search = (root, target) => {
    if (typeof target === 'string') return [...root.querySelectorAll(target)];
    if (target.testId) return [...root.querySelectorAll(`[data-testid="${target.testId}"]`)];
    if (target.label) {
      // The label's own text: a <label> that wraps its <select> also holds the options' text.
      const own = (l) => squash([...l.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join(' '));
      const labels = [...root.querySelectorAll('label')].filter((l) => squash(l.textContent) === target.label || own(l) === target.label);
      return labels.map((l) => l.control).filter(Boolean);
    }
    const selector = ROLES[target.role];
    if (!selector) throw new Error(`no role ${target.role} in the engine specs' table`);
    let found = [...root.querySelectorAll(selector)];
    if (target.name !== undefined) found = found.filter((el) => matches(nameOf(el), target.name));
    if (target.hasText !== undefined) found = found.filter((el) => squash(el.textContent).includes(target.hasText));
    return found;
  };
  const find = (t) => {
    const roots = t.within ? find(t.within) : [document];
    return [...new Set(roots.flatMap((root) => search(root, t)).filter(visible))];
  };
  return find(target);
}

/** What the specs read of a target: how many match, the first one's text, whether enabled. */
export function describe(locate, target) {
  const found = locate(target);
  const first = found[0];
  return {
    count: found.length,
    text: first ? first.textContent.replace(/\s+/g, ' ').trim() : null,
    label: first ? first.getAttribute('aria-label') : null,
    enabled: first ? !first.disabled : false,
    hydrated: document.body?.dataset.hydrated === 'true',
    url: location.href,
  };
}
