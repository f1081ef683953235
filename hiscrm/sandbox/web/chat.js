'use strict';
// Direct messages: conversations from user_detail plus the binary IM init, history decoded from protobuf.

const conversationList = document.getElementById('conversation-list');
const chatBox = document.getElementById('chat-box');
const users = new Map();
let currentId = '';

async function loadConversations() {
  const [detail, init] = await Promise.all([
    getJSON('/creator/im/user_detail/'),
    getBinary('/v1/message/get_by_user_init'),
  ]);
  const lastMessages = new Map();
  for (const raw of pbFields(init)[1] || []) {
    const f = pbFields(raw);
    lastMessages.set(pbString(f, 1), f[4] ? decodeMessage(f[4][0]) : null);
  }
  conversationList.replaceChildren(...detail.user_list.map((entry) => {
    users.set(entry.user_id, entry.user);
    return renderConversation(entry, lastMessages.get(entry.conversation_id));
  }));
  if (!detail.user_list.length) conversationList.append(h('div', {class: 'chat-empty'}, '暂无私信'));
}

function renderConversation(entry, last) {
  return h('div', {
    class: 'conversation-item',
    'data-conversation-id': entry.conversation_id,
    'data-peer-uid': entry.user_id,
    'data-last-msg-id': last?.serverId,
    'data-last-msg-ms': last?.createdMs,
    onclick: () => openConversation(entry.conversation_id, entry.user_id).catch((error) => toast(error.message)),
  },
  h('img', {src: entry.user.avatar_thumb.url_list[0], alt: ''}),
  h('div', {class: 'conversation-text'},
    h('div', {class: 'conversation-name'}, entry.user.nickname),
    h('div', {class: 'conversation-preview'}, last ? last.content : ''),
    h('div', {class: 'conversation-time muted'}, last ? formatTime(last.createdMs) : '')));
}

function renderMessage(m) {
  const fromMe = m.senderUid === ME.uid;
  const name = fromMe ? ME.nickname : (users.get(m.senderUid)?.nickname || m.senderUid);
  return h('div', {
    class: 'message-item',
    'data-msg-id': m.serverId,
    'data-conversation-id': m.conversationId,
    'data-sender-id': m.senderUid,
    'data-sender-name': name,
    'data-from-me': String(fromMe),
    'data-created-ms': m.createdMs,
  },
  h('div', {class: 'message-sender muted'}, name),
  h('div', {class: 'message-content'}, m.content),
  h('div', {class: 'message-time muted'}, formatTime(m.createdMs)));
}

async function openConversation(conversationId, peerUid) {
  currentId = conversationId;
  document.querySelectorAll('.conversation-item').forEach((item) => {
    item.classList.toggle('active', item.dataset.conversationId === conversationId);
  });
  const older = h('button', {class: 'message-older', hidden: true}, '加载更早的消息');
  const messages = h('div', {class: 'message-list', id: 'message-list', 'data-conversation-id': conversationId}, older);
  const editor = h('div', {contenteditable: 'true', class: 'chat-editor', 'data-placeholder': '发送消息'});
  const send = h('button', {class: 'primary chat-send-btn'}, '发送');
  older.addEventListener('click', () => loadHistory(conversationId, Number(older.dataset.cursor), messages, older)
    .catch((error) => toast(error.message)));
  send.addEventListener('click', () => sendMessage(conversationId, editor, send, messages));
  chatBox.replaceChildren(
    h('div', {class: 'box-header-Lm2cx'},
      h('span', {class: 'box-header-name-Qp9Vd', 'data-peer-uid': peerUid}, users.get(peerUid).nickname)),
    messages,
    h('div', {class: 'chat-input-Xb2ka'}, editor, send));
  await loadHistory(conversationId, 0, messages, older);
}

async function loadHistory(conversationId, cursor, messages, older) {
  const query = new URLSearchParams({conversation_id: conversationId, cursor, count: 50});
  const f = pbFields(await getBinary(`/v1/message/get_by_conversation?${query}`));
  if (conversationId !== currentId) return;
  older.after(...(f[1] || []).map(decodeMessage).map(renderMessage));
  older.hidden = pbNumber(f, 2) === 0;
  older.dataset.cursor = pbNumber(f, 3);
  if (cursor === 0) messages.scrollTop = messages.scrollHeight;
}

async function sendMessage(conversationId, editor, button, messages) {
  const content = editor.innerText.trim();
  if (!content) {
    toast('消息内容不能为空');
    return;
  }
  button.disabled = true;
  let answer;
  try {
    answer = await post('/v1/message/send', {conversation_id: conversationId, content});
  } catch (error) {
    answer = {status_msg: '发送失败，请稍后重试'};
  } finally {
    button.disabled = false;
  }
  if (!(answer instanceof Uint8Array)) {
    toast(answer.status_msg || '发送失败');
    return;
  }
  const f = pbFields(answer);
  if (pbNumber(f, 1) !== 0) {
    toast(pbString(f, 2));
    return;
  }
  const message = decodeMessage(f[3][0]);
  messages.append(renderMessage(message));
  messages.scrollTop = messages.scrollHeight;
  editor.textContent = '';
  const item = document.querySelector(`.conversation-item[data-conversation-id="${conversationId}"]`);
  item.dataset.lastMsgId = message.serverId;
  item.dataset.lastMsgMs = message.createdMs;
  item.querySelector('.conversation-preview').textContent = message.content;
  item.querySelector('.conversation-time').textContent = formatTime(message.createdMs);
}

loadConversations().catch((error) => toast(error.message));
