'use strict';
// Direct messages, built like the creator chat: conversations from the IM init (protobuf or JSON) with
// their peers resolved through user_detail, a virtualised grid whose rows carry no ids, history
// per conversation, new messages pushed over a WebSocket. The data lives in fiber props (common.js).
// Like ReactVirtualized, the grid renders only a window of rows (fixed height, positioned in an inner
// container sized for all of them) and re-renders on scroll; user_detail is asked for the peers of the
// rows about to render, so scrolling asks again. The end marker renders with the last row.

const grid = document.querySelector('.ReactVirtualized__Grid__innerScrollContainer');
const scroller = grid.parentElement;
const ROW_HEIGHT = 64;
const WINDOW = 20;
const END_HEIGHT = 32;
const chatBox = document.getElementById('chat-box');
const PAGE = 50;
const conversations = [];  // the IM store's list, newest first
const users = new Map();  // uid -> user_detail's user
const asked = new Set();  // uids user_detail was asked for: asked once, even if it names nobody
let asking = null;  // the user_detail request in flight
const listOwner = {memoizedProps: {dataSource: conversations}, return: null};
withProps(grid, {className: 'ReactVirtualized__Grid__innerScrollContainer'}, listOwner);
let open = null;  // {conversation, panel, shown: Set of serverIds, cursor, owner}

function peerOf(conversation) {
  return users.get(conversation.toParticipantUserId) || {nickname: conversation.toParticipantUserId, avatar_thumb: {url_list: ['']}};
}

function conversationOf(id, shortId, peer, lastMessage) {
  const user = users.get(peer) || {};
  return {
    id, shortId, toParticipantUserId: peer, lastMessage, _badgeCount: 0,
    firstPageParticipant: {participants: [
      {uid: ME.uid, sec_uid: ME.sec_uid, nick_name: ME.nickname},
      {uid: peer, sec_uid: user.sec_uid, nick_name: user.nickname},
    ]},
  };
}

async function loadConversations() {
  const init = await readAnswer(await fetch('/v2/message/get_by_user_init', {method: 'POST', credentials: 'same-origin'}));
  let listed;
  if (init instanceof Uint8Array) {
    listed = (pbFields(init)[1] || []).map((raw) => {
      const f = pbFields(raw);
      return {id: pbString(f, 1), shortId: pbString(f, 2), peer: pbString(f, 3), last: f[4] ? decodeMessage(f[4][0]) : null};
    });
  } else {
    if (init.status_code !== 0) throw new ApiError(init.status_code, init.status_msg);
    listed = init.conversations.map((c) => ({
      id: c.conversation_id, shortId: c.conversation_short_id, peer: c.peer, last: jsonMessage(c.last_message),
    }));
  }
  conversations.splice(0, conversations.length, ...listed.map((c) => conversationOf(c.id, c.shortId, c.peer, c.last)));
  // Asked even for no row, as the page always asks once it has the list.
  await askUsers(windowOf().shown, true);
  renderList();
}

function windowOf() {
  const first = Math.max(0, Math.min(Math.floor(scroller.scrollTop / ROW_HEIGHT), conversations.length - WINDOW));
  return {first, shown: conversations.slice(first, first + WINDOW)};
}

async function askUsers(shown, always = false) {
  const uids = [...new Set(shown.map((c) => c.toParticipantUserId).filter((u) => !asked.has(u)))];
  if (!uids.length && !always) return;
  uids.forEach((u) => asked.add(u));
  const detail = await getJSON(`/aweme/v1/creator/im/user_detail/?${new URLSearchParams({user_ids: uids.join(',')})}`);
  for (const entry of detail.user_list) users.set(entry.user_id, entry.user);
  for (const c of conversations) {
    const user = users.get(c.toParticipantUserId);
    if (user) Object.assign(c.firstPageParticipant.participants[1], {sec_uid: user.sec_uid, nick_name: user.nickname});
  }
}

function renderList() {
  const {first, shown} = windowOf();
  if (shown.some((c) => !asked.has(c.toParticipantUserId))) {
    // The rows render once their peers are known; the scroll that brought them re-renders then.
    asking ??= askUsers(shown).catch((error) => toast(error.message)).finally(() => { asking = null; renderList(); });
    return;
  }
  grid.style.height = `${conversations.length * ROW_HEIGHT + END_HEIGHT}px`;
  const end = first + shown.length >= conversations.length
    ? [h('div', {class: 'no-more-tip-Gh3k', style: `top: ${conversations.length * ROW_HEIGHT}px`}, conversations.length ? '没有更多了' : '暂无私信')]
    : [];
  grid.replaceChildren(...shown.map((c, i) => renderRow(c, first + i)), ...end);
}

function renderRow(conversation, index) {
  const user = peerOf(conversation);
  const last = conversation.lastMessage;
  const row = h('li', {
    class: `semi-list-item${open?.conversation.id === conversation.id ? ' active' : ''}`,
    role: 'listitem',
    style: `top: ${index * ROW_HEIGHT}px; height: ${ROW_HEIGHT}px`,
    onclick: () => openConversation(conversation).catch((error) => toast(error.message)),
  },
  h('img', {class: 'avatar-Kq2mx', src: user.avatar_thumb.url_list[0], alt: ''}),
  h('div', {class: 'item-content-Rb3xw'},
    h('div', {class: 'item-header-Ps8dq'},
      h('span', {class: 'item-header-name-vL_79m'}, user.nickname),
      h('span', {class: 'item-header-time-Wc1qz muted'}, last ? formatTime(last.createdAt / 1000) : '')),
    h('div', {class: 'text-Fz7yk muted'}, last ? messageText(last) : '')));
  return withProps(row, {className: 'semi-list-item'}, {memoizedProps: {item: conversation}, return: listOwner});
}

function renderMessage(message, owner) {
  const user = message.isFromMe ? {nickname: ME.nickname} : peerOf(open.conversation);
  const node = h('div', {class: message.isFromMe ? 'box-item-Tn5rv MessageBoxContentisFromMe' : 'box-item-Tn5rv'},
    h('div', {class: 'msg-sender-Yt6ub muted'}, user.nickname),
    h('div', {class: 'msg-bubble-Hc3pe'}, h('span', {class: 'msg-text-Jw2sx'}, messageText(message))),
    h('div', {class: 'msg-time-Lp0ad muted'}, formatTime(message.createdAt / 1000)));
  return withProps(node, {className: node.className}, {memoizedProps: {message}, return: owner});
}

async function openConversation(conversation) {
  const user = peerOf(conversation);
  const top = h('div', {class: 'load-more-Vq1so'});
  const panel = h('div', {class: 'box-content-jSgLQF'}, top);
  const editor = h('div', {contenteditable: 'true', class: 'editor-Ud4kp', 'data-placeholder': '按回车即发送，shift+enter换行'});
  const send = h('button', {class: 'primary send-btn-Rg7ct', disabled: true}, '发送');
  const owner = {memoizedProps: {conversationId: conversation.id}, return: null};
  open = {conversation, panel, top, owner, shown: new Set(), cursor: 0};
  renderList();
  editor.addEventListener('input', () => { send.disabled = !editor.innerText.trim(); });
  editor.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      sendMessage(conversation, editor, send);
    }
  });
  send.addEventListener('click', () => sendMessage(conversation, editor, send));
  chatBox.replaceChildren(
    h('div', {class: 'box-header-Lm2cx'}, h('span', {class: 'box-header-name-Qp9Vd'}, user.nickname)),
    panel,
    h('div', {class: 'chat-input-dccKiL'}, editor, send));
  const more = await loadHistory(open);
  panel.scrollTop = panel.scrollHeight;
  // Older history loads when the top of the panel is scrolled into view, as on the site.
  if (more) onScrolledTo(top, () => loadHistory(open));
  else top.replaceWith(h('div', {class: 'no-more-tip-Gh3k'}, '没有更多了'));
}

async function loadHistory(view) {
  const query = new URLSearchParams({conversation_id: view.conversation.id, cursor: view.cursor, count: PAGE});
  const answer = await readAnswer(await fetch(`/v1/message/get_by_conversation?${query}`, {credentials: 'same-origin'}));
  let messages, more, cursor;
  if (answer instanceof Uint8Array) {
    const f = pbFields(answer);
    [messages, more, cursor] = [(f[1] || []).map(decodeMessage), pbNumber(f, 2) === 1, pbNumber(f, 3)];
  } else {
    if (answer.status_code !== 0) throw new ApiError(answer.status_code, answer.status_msg);
    [messages, more, cursor] = [answer.messages.map(jsonMessage), answer.has_more, answer.cursor];
  }
  if (view !== open) return false;
  const fresh = messages.filter((m) => !view.shown.has(m.serverId));
  fresh.forEach((m) => view.shown.add(m.serverId));
  view.top.after(...fresh.map((m) => renderMessage(m, view.owner)));
  view.cursor = cursor;
  if (!more && view.top.isConnected) view.top.replaceWith(h('div', {class: 'no-more-tip-Gh3k'}, '没有更多了'));
  return more;
}

function show(message) {
  // A message the page learns of (sent, or pushed): the list moves it to the top, the open chat shows it.
  const conversation = conversations.find((c) => c.id === message.conversationId);
  if (!conversation) {
    loadConversations().catch((error) => toast(error.message));  // a new peer: resolved through user_detail
    return;
  }
  conversation.lastMessage = message;
  conversations.splice(conversations.indexOf(conversation), 1);
  conversations.unshift(conversation);
  renderList();
  if (open?.conversation.id === conversation.id && !open.shown.has(message.serverId)) {
    open.shown.add(message.serverId);
    open.panel.append(renderMessage(message, open.owner));
    open.panel.scrollTop = open.panel.scrollHeight;
  }
}

async function sendMessage(conversation, editor, button) {
  const content = editor.innerText.trim();
  if (!content) return;
  button.disabled = true;
  let answer;
  try {
    answer = await post('/v1/message/send', {conversation_id: conversation.id, content});
  } catch (error) {
    answer = {status_code: -1, status_msg: '发送失败，请稍后重试'};
  }
  let status, message = null, reason;
  if (answer instanceof Uint8Array) {
    const f = pbFields(answer);
    [status, reason] = [pbNumber(f, 1), pbString(f, 2)];
    if (status === 0) message = decodeMessage(f[3][0]);
  } else {
    [status, reason] = [answer.status_code, answer.status_msg];
    if (status === 0) message = jsonMessage(answer.message);
  }
  if (status !== 0) {
    button.disabled = false;
    toast(reason || '发送失败');
    return;
  }
  editor.textContent = '';
  show(message);
}

function connectPush() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const socket = new WebSocket(`${scheme}://${location.host}/ws/v2?aid=6383&device_platform=douyin_pc`);
  const heartbeat = setInterval(() => socket.readyState === WebSocket.OPEN && socket.send('hi'), 10000);
  socket.addEventListener('message', (event) => {
    const notify = JSON.parse(event.data).payload?.new_message_notify;
    if (notify) show(jsonMessage(notify.message));
  });
  socket.addEventListener('close', () => {
    clearInterval(heartbeat);
    setTimeout(connectPush, 3000);
  });
}

scroller.addEventListener('scroll', renderList);
loadConversations().then(connectPush).catch((error) => toast(error.message));
