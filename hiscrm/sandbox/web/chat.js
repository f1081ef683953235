'use strict';
// Direct messages, built like the creator chat: conversations from the IM init (protobuf or JSON) with
// their peers resolved through user_detail, a virtual-list-like grid whose rows carry no ids, history
// per conversation, new messages pushed over a WebSocket. The data lives in fiber props (common.js).

const grid = document.querySelector('.ReactVirtualized__Grid__innerScrollContainer');
const chatBox = document.getElementById('chat-box');
const PAGE = 50;
const conversations = [];  // the IM store's list, newest first
const users = new Map();  // uid -> user_detail's user
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
  const detail = await getJSON('/aweme/v1/creator/im/user_detail/');
  for (const entry of detail.user_list) users.set(entry.user_id, entry.user);
  conversations.splice(0, conversations.length, ...listed.map((c) => conversationOf(c.id, c.shortId, c.peer, c.last)));
  renderList();
}

function renderList() {
  grid.replaceChildren(...conversations.map(renderRow), h('div', {class: 'no-more-tip-Gh3k'}, conversations.length ? '没有更多了' : '暂无私信'));
}

function renderRow(conversation) {
  const user = peerOf(conversation);
  const last = conversation.lastMessage;
  const row = h('li', {
    class: `semi-list-item${open?.conversation.id === conversation.id ? ' active' : ''}`,
    role: 'listitem',
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

loadConversations().then(connectPush).catch((error) => toast(error.message));
