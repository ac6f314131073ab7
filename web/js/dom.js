// Building elements without innerHTML: every text from the server goes in
// as text, never as markup.

// h('td', {class: 'num', data: {value: 3}, onclick: fn}, 'text', child)
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'data') setData(el, value);
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function setData(el, data) {
  for (const [key, value] of Object.entries(data)) {
    if (value === null || value === undefined) continue;
    el.dataset[key] = String(value);
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function option(value, label, selected) {
  return h('option', { value, selected: selected ? true : null }, label);
}

// Replaces a select's options, keeping its value when still offered.
export function fillSelect(select, options, keep = select.value) {
  clear(select);
  for (const [value, label] of options) select.append(option(value, label));
  select.value = options.some(([value]) => value === keep) ? keep : options[0]?.[0] ?? '';
}

// A table head row from [text, className] pairs.
export function headRow(columns) {
  return h(
    'tr',
    {},
    columns.map(([text, cls]) => h('th', { scope: 'col', class: cls || null }, text)),
  );
}
