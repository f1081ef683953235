'use strict';
// The newer work-detail page's comment tab: the creator comment API (encrypted "@j/" ids, numbers as
// strings), rows `comment-item-*` > `comment-main-*` with username / time / text children, replies
// under a `reply-*` parent loaded by a `load-reply-*` button, an operations bar with role=button 回复.

const PAGE = 20;
const AWEME_ID = location.pathname.split('/').pop();
const list = document.getElementById('comment-list');
const end = document.getElementById('comments-end');
let itemId = '';
let cursor = 0;

async function findWork() {
  // The page knows its work by aweme_id; the comment API wants the encrypted item_id.
  let itemCursor = 0;
  for (;;) {
    const page = await getJSON(`/aweme/v1/creator/item/list/?cursor=${itemCursor}&count=50&aid=2906`);
    const item = page.item_info_list.find((i) => i.item_id_plain === AWEME_ID);
    if (item) return item;
    if (!page.has_more) throw new ApiError(2, '作品不存在');
    itemCursor = page.cursor;
  }
}

async function loadComments() {
  const query = new URLSearchParams({item_id: itemId, cursor, count: PAGE, sort: 'TIME', aid: 2906});
  const page = await getJSON(`/aweme/v1/creator/comment/list/?${query}`);
  list.append(...page.comment_info_list.map((c) => renderComment(c, c.comment_id)));
  cursor = page.cursor;
  if (!page.has_more) end.textContent = list.children.length ? '没有更多评论' : '暂无评论';
  return page.has_more;
}

function renderMain(c, threadId) {
  const operations = h('div', {class: 'comment-operation-wrap-Fq2zs'},
    h('div', {role: 'button', class: 'operation-item-Lw0nb', onclick: () => openReplyBox(main, c, threadId)}, '回复'),
    h('div', {role: 'button', class: 'operation-item-Lw0nb'}, '删除'));
  const main = h('div', {class: 'comment-main-Xy9ka'},
    h('img', {class: 'avatar-Rn4de', src: c.user_info.avatar_url, alt: ''}),
    h('span', {class: 'username-Lk2ho'}, c.user_info.screen_name),
    c.is_author && h('span', {class: 'author-Tag4s'}, '作者'),
    h('span', {class: 'time-Qw3sd'}, formatShortTime(Number(c.create_time) * 1000)),
    h('div', {class: 'text-Pq8rt'},
      c.level === 2 && c.reply_to_user_info && h('span', {class: 'reply-to-Vb1nc'}, `回复 ${c.reply_to_user_info.screen_name}：`),
      c.text),
    c.image_list && h('div', {class: 'images-Gs5yu'}, h('img', {src: c.image_list[0].origin_url.url_list[0], alt: ''})),
    operations);
  return withProps(main, {className: 'comment-main-Xy9ka'}, {memoizedProps: {comment: c}, return: null});
}

function renderComment(c, threadId) {
  const replies = h('div', {class: 'reply-container-Jm4kx'});
  const item = h('div', {class: 'comment-item-Ab12c'}, renderMain(c, threadId), replies);
  if (Number(c.reply_count) > 0) {
    const load = h('button', {class: 'load-reply-Ty6op'}, `查看${c.reply_count}条回复`);
    load.addEventListener('click', () => loadReplies(c, replies, load), {once: true});
    item.append(load);
  }
  return item;
}

async function loadReplies(c, container, button) {
  const loaded = [];
  let replyCursor = 0, more = true;
  try {
    while (more) {
      const query = new URLSearchParams({comment_id: c.comment_id, cursor: replyCursor, count: PAGE, aid: 2906});
      const page = await getJSON(`/aweme/v1/creator/comment/reply/list/?${query}`);
      loaded.push(...page.comment_info_list);
      replyCursor = page.cursor;
      more = page.has_more;
    }
  } catch (error) {
    toast(error.message);
    return;
  }
  container.replaceChildren(...loaded.map((r) => renderMain(r, c.comment_id)));
  button.remove();
}

function openReplyBox(main, c, threadId) {
  document.querySelectorAll('.reply-box-Hs6vd').forEach((box) => box.remove());
  const editor = h('div', {contenteditable: 'true', class: 'editable-input-Cz3mw', 'data-placeholder': `回复 ${c.user_info.screen_name}：`});
  const send = h('div', {role: 'button', class: 'send-btn-Pk9qe'}, '发送');
  const box = h('div', {class: 'reply-box-Hs6vd'}, editor, send);
  send.addEventListener('click', () => sendReply(main, box, editor, c, threadId));
  main.querySelector('.comment-operation-wrap-Fq2zs').after(box);
  editor.focus();
}

async function sendReply(main, box, editor, c, threadId) {
  const text = editor.innerText.trim();
  if (!text) {
    toast('回复内容不能为空');
    return;
  }
  let answer;
  try {
    answer = await post('/aweme/v1/creator/comment/reply/', {comment_Id: c.comment_id, item_id: itemId, text});
  } catch (error) {
    answer = {status_code: -1, status_msg: '回复失败，请稍后重试'};
  }
  if (answer.status_code !== 0) {
    toast(answer.status_msg);
    return;
  }
  box.remove();
  const info = answer.comment_info;
  const reply = {
    comment_id: info.comment_id, create_time: String(info.create_time), digg_count: '0', reply_count: '0',
    text: info.text, level: 2, is_author: true, image_list: null, reply_to_user_info: c.user_info,
    user_info: {user_id: '', screen_name: ME.nickname, avatar_url: ME.avatar},
  };
  const thread = main.closest('.comment-item-Ab12c');
  thread.querySelector(':scope > .reply-container-Jm4kx').append(renderMain(reply, threadId));
  toast('回复成功');
}

// The editor above the list comments on the work itself: the reply endpoint with an empty comment_Id.
async function publishComment(box) {
  const info = await commentOnWork(box.querySelector('[contenteditable="true"]'), itemId);
  if (info === null) return;
  list.prepend(renderComment({
    comment_id: info.comment_id, create_time: String(info.create_time), digg_count: '0', reply_count: '0',
    text: info.text, level: 1, is_author: true, image_list: null,
    user_info: {user_id: '', screen_name: ME.nickname, avatar_url: ME.avatar},
  }, info.comment_id));
  toast('评论成功');
}

const publishBox = document.getElementById('publish-box');
publishBox.querySelector('[role="button"]').addEventListener('click', () => publishComment(publishBox));

findWork().then((item) => {
  itemId = item.item_id;
  document.getElementById('work-title').textContent = item.title;
  onScrolledTo(end, loadComments);
}).catch((error) => toast(error.message));
