'use strict';
// Shared by every sandbox page: DOM building, toasts, API calls, and the binary IM decoder.

const ME = JSON.parse(document.getElementById('sandbox-me')?.textContent || '{}');
const CSRF = document.querySelector('meta[name="csrf-token"]')?.content || '';
const BEIJING_OFFSET_MS = 8 * 3600 * 1000;
// Like React's: page data hangs off DOM nodes under a per-load key, each fiber's props and its parent
// fiber (`return`). Crawlers read it as they read the real site's fibers; no data-* ids in the DOM.
const FIBER_KEY = `__reactFiber$${Math.random().toString(36).slice(2, 12)}`;

function withProps(node, props, parent = null) {
  node[FIBER_KEY] = {memoizedProps: props, return: parent};
  return node;
}

function propsOf(node) {
  return node[FIBER_KEY];
}

// Loads more when `sentinel` scrolls into view, as the site's lists do; `load` resolves false at the end.
function onScrolledTo(sentinel, load) {
  let busy = false, done = false;
  const observer = new IntersectionObserver(async (entries) => {
    if (busy || done || !entries.some((e) => e.isIntersecting)) return;
    busy = true;
    try {
      done = !(await load());
    } catch (error) {
      toast(error.message);
    } finally {
      busy = false;
    }
    if (done) observer.disconnect();
    else { observer.unobserve(sentinel); observer.observe(sentinel); }  // fires again if still in view
  });
  observer.observe(sentinel);
  return observer;
}

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function toast(message) {
  const node = h('div', {class: 'semi-toast', role: 'alert'}, h('span', {class: 'semi-toast-content-text'}, message));
  document.getElementById('toast-root').append(node);
  setTimeout(() => node.remove(), 4000);
}

// Beijing time, like the site, whatever the browser's zone.
function formatTime(ms) {
  const d = new Date(ms + BEIJING_OFFSET_MS);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

function beijing(ms) {
  const d = new Date(ms + BEIJING_OFFSET_MS);
  return {y: d.getUTCFullYear(), m: d.getUTCMonth() + 1, d: d.getUTCDate(), hh: d.getUTCHours(), mm: d.getUTCMinutes()};
}

// The work-detail page's comment times: "10月27日 10:42", Beijing time.
function formatShortTime(ms) {
  const t = beijing(ms);
  const pad = (n) => String(n).padStart(2, '0');
  return `${pad(t.m)}月${pad(t.d)}日 ${pad(t.hh)}:${pad(t.mm)}`;
}

function formatCount(n) {
  return n >= 10000 ? `${(n / 10000).toFixed(1)}w` : String(n);
}

class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// JSON answers become objects, binary ones Uint8Array. Logged out goes back to the login view;
// an empty body means risk control, which a reload shows as the verification page.
async function readAnswer(response) {
  if ((response.headers.get('content-type') || '').includes('json')) {
    const text = await response.text();
    if (!text) {
      location.reload();
      throw new ApiError(-1, '安全验证');
    }
    const data = JSON.parse(text);
    if (data.status_code === 8) {
      location.href = '/';
      throw new ApiError(8, data.status_msg);
    }
    return data;
  }
  return new Uint8Array(await response.arrayBuffer());
}

async function getJSON(url) {
  const data = await readAnswer(await fetch(url, {credentials: 'same-origin'}));
  if (data.status_code !== 0) throw new ApiError(data.status_code, data.status_msg || '加载失败');
  return data;
}

async function post(url, body) {
  return readAnswer(await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: {'Content-Type': 'application/json', 'X-Secsdk-Csrf-Token': CSRF},
    body: JSON.stringify(body),
  }));
}

// Both comment-page generations comment on the work itself through the reply endpoint with an empty
// comment_Id; the posted comment's info, or null once the person has been told why not.
async function commentOnWork(editor, itemId) {
  const text = editor.innerText.trim();
  if (!text) {
    toast('评论内容不能为空');
    return null;
  }
  let answer;
  try {
    answer = await post('/aweme/v1/creator/comment/reply/', {comment_Id: '', item_id: itemId, text});
  } catch (error) {
    answer = {status_code: -1, status_msg: '评论失败，请稍后重试'};
  }
  if (answer.status_code !== 0) {
    toast(answer.status_msg);
    return null;
  }
  editor.replaceChildren();
  return answer.comment_info;
}

async function getBinary(url) {
  const data = await readAnswer(await fetch(url, {credentials: 'same-origin'}));
  if (!(data instanceof Uint8Array)) throw new ApiError(data.status_code, data.status_msg || '加载失败');
  return data;
}

// Protocol buffers wire format: varints and length-delimited fields, all the IM answers use.
function pbFields(bytes) {
  const fields = {};
  let pos = 0;
  const varint = () => {
    let value = 0, scale = 1, byte;
    do {
      byte = bytes[pos++];
      value += (byte & 0x7f) * scale;
      scale *= 128;
    } while (byte & 0x80);
    return value;
  };
  while (pos < bytes.length) {
    const key = varint();
    const number = Math.floor(key / 8), type = key % 8;
    let value;
    if (type === 0) value = varint();
    else if (type === 2) {
      const length = varint();
      value = bytes.subarray(pos, pos + length);
      pos += length;
    } else throw new Error(`unsupported wire type ${type}`);
    (fields[number] ||= []).push(value);
  }
  return fields;
}

const UTF8 = new TextDecoder();
const pbString = (fields, n) => (fields[n] ? UTF8.decode(fields[n][0]) : '');
const pbNumber = (fields, n) => (fields[n] ? fields[n][0] : 0);

// One message as the IM SDK keeps it in the page: the shape crawlers read from the fibers.
function imMessage(m) {
  return {
    serverId: m.serverId, conversationId: m.conversationId, conversationShortId: m.conversationShortId,
    sender: m.sender, secSender: m.secSender, isFromMe: m.sender === ME.uid, type: 7,
    content: m.content, createdAt: m.createdMs * 1000,  // microseconds, as one public capture shows
  };
}

function decodeMessage(bytes) {
  const f = pbFields(bytes);
  return imMessage({
    serverId: pbString(f, 1), conversationId: pbString(f, 2), sender: pbString(f, 3), content: pbString(f, 4),
    createdMs: pbNumber(f, 5), secSender: pbString(f, 6), conversationShortId: pbString(f, 7),
  });
}

function jsonMessage(m) {
  return imMessage({
    serverId: m.server_message_id, conversationId: m.conversation_id, sender: m.sender, content: m.content,
    createdMs: m.create_time, secSender: m.sec_sender, conversationShortId: m.conversation_short_id,
  });
}

function messageText(message) {
  try {
    return JSON.parse(message.content).text || '';
  } catch (error) {
    return message.content;
  }
}
