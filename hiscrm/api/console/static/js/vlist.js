// A windowed list: only the rows in view (and a few around) are in the DOM, so ten thousand items scroll
// as lightly as ten. Rows have one fixed height; items are plain objects with a unique `key`.

import { h, swap } from "./ui.js";

const OVERSCAN = 8;

export class VList {
  /** `render(item)` builds one <li>; `onNearEnd()` asks for the next page when the reader nears the bottom. */
  constructor({ row, render, onNearEnd, label, empty = "Nothing here." }) {
    this.row = row;
    this.render = render;
    this.onNearEnd = onNearEnd;
    this.empty = empty;
    this.items = [];
    this.window = [-1, -1];
    this.list = h("ul", { class: "items", "aria-label": label });
    this.space = h("div", { class: "vspace" }, this.list);
    this.scroller = h("div", { class: "vscroll" }, this.space);
    this.scroller.addEventListener("scroll", () => this.draw(false), { passive: true });
  }

  get atTop() {
    return this.scroller.scrollTop < this.row / 2;
  }

  set(items) {
    this.items = items;
    this.scroller.scrollTop = 0;
    this.draw(true);
  }

  append(items) {
    this.items = this.items.concat(items);
    this.draw(true);
  }

  /** New items above the others. A reader scrolled away keeps the rows they were looking at. */
  prepend(items) {
    if (!items.length) return;
    const away = !this.atTop;
    this.items = items.concat(this.items);
    this.space.style.height = `${this.items.length * this.row}px`;
    if (away) this.scroller.scrollTop += items.length * this.row;
    this.draw(true);
  }

  /** Re-render the rows in view (an item changed: read state, selection). */
  refresh() {
    this.draw(true);
  }

  indexOf(key) {
    return this.items.findIndex((item) => item.key === key);
  }

  scrollToIndex(i) {
    const top = i * this.row;
    const view = this.scroller.clientHeight;
    if (top < this.scroller.scrollTop) this.scroller.scrollTop = top;
    else if (top + this.row > this.scroller.scrollTop + view) this.scroller.scrollTop = top + this.row - view;
    this.draw(false);
  }

  scrollToTop() {
    this.scroller.scrollTop = 0;
    this.draw(false);
  }

  draw(force) {
    const top = this.scroller.scrollTop;
    const view = this.scroller.clientHeight || 600;
    const start = Math.max(0, Math.floor(top / this.row) - OVERSCAN);
    const end = Math.min(this.items.length, Math.ceil((top + view) / this.row) + OVERSCAN);
    if (!force && start === this.window[0] && end === this.window[1]) return;
    this.window = [start, end];
    this.space.style.height = `${Math.max(1, this.items.length) * this.row}px`;
    this.list.style.transform = `translateY(${start * this.row}px)`;
    if (!this.items.length) swap(this.list, h("li", { class: "muted empty" }, this.empty));
    else swap(this.list, this.items.slice(start, end).map((item) => this.render(item)));
    if (end >= this.items.length - OVERSCAN) this.onNearEnd?.();
  }
}
