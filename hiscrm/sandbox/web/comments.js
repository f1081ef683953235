'use strict';
// Comment management: pick a work, list its comments, expand replies, reply as the creator.

const COMMENT_API = '/web/api/third_party/aweme/api/comment/read/aweme/v1/web/comment/list';
const PAGE = 20;
const picker = document.getElementById('work-picker');
const options = document.getElementById('work-options');
const optionsMore = document.getElementById('work-options-more');
const current = document.getElementById('current-work');
const list = document.getElementById('comment-list');
const moreButton = document.getElementById('comments-more');
const empty = document.getElementById('comment-empty');
let work = null;
let cursor = 0;
let optionsCursor = 0;

async function loadOptions() {
  const page = await getJSON(`/aweme/v1/creator/item/list/?cursor=${optionsCursor}&count=${PAGE}`);
  options.append(...page.item_info_list.map((item) => h('div', {
    class: 'work-option',
    'data-aweme-id': item.item_id_plain,
    onclick: () => {
      picker.hidden = true;
      selectWork(item.item_id_plain, item.item_id, item.title);
    },
  }, item.title, h('span', {class: 'muted'}, `  ${item.create_time} · 评论 ${item.comment_count}`))));
  optionsCursor = page.cursor;
  optionsMore.hidden = !page.has_more;
  return page.item_info_list;
}

function selectWork(awemeId, itemId, title) {
  work = {awemeId, itemId};
  current.dataset.awemeId = awemeId;
  current.textContent = title;
  list.replaceChildren();
  cursor = 0;
  loadComments().catch((error) => toast(error.message));
}

async function loadComments() {
  const forWork = work;
  const query = new URLSearchParams({
    aweme_id: forWork.awemeId, cursor, count: PAGE, sort_options: 0, comment_select_options: 0, channel_id: 618,
  });
  const page = await getJSON(`${COMMENT_API}/select/?${query}`);
  if (forWork !== work) return;
  list.append(...page.comments.map((c) => renderComment(c, c.cid)));
  cursor = page.cursor;
  moreButton.hidden = !page.has_more;
  empty.hidden = list.children.length > 0;
}

function renderComment(c, threadCid) {
  const node = h('div', {
    class: c.reply_id === '0' ? 'comment-item' : 'comment-item reply-item',
    'data-cid': c.cid,
    'data-aweme-id': c.aweme_id,
    'data-reply-id': c.reply_id,
    'data-user-id': c.user.uid,
    'data-create-time': c.create_time,
  });
  node.append(h('div', {class: 'comment-main'},
    h('img', {class: 'comment-avatar', src: c.user.avatar_thumb.url_list[0], alt: ''}),
    h('div', {class: 'comment-body'},
      h('div', {}, h('span', {class: 'comment-user-name'}, c.user.nickname),
        c.label_text && h('span', {class: 'comment-label'}, c.label_text)),
      h('div', {class: 'comment-content'}, c.text),
      c.image_list && h('img', {class: 'comment-image', src: c.image_list[0].origin_url.url_list[0], alt: ''}),
      h('div', {class: 'comment-actions'},
        h('span', {class: 'comment-time'}, formatTime(c.create_time * 1000)),
        c.ip_label && h('span', {class: 'comment-ip'}, `IP属地：${c.ip_label}`),
        h('span', {class: 'comment-digg'}, `赞 ${c.digg_count}`),
        h('button', {class: 'comment-reply-btn', onclick: () => openReplyBox(node, c, threadCid)}, '回复')))));
  if (c.reply_id === '0') {
    const replies = h('div', {class: 'comment-replies'});
    if (c.reply_comment_total > 0) {
      const show = h('button', {class: 'comment-show-replies'}, `查看${c.reply_comment_total}条回复`);
      show.addEventListener('click', () => showReplies(c, replies, show));
      node.append(show);
    }
    node.append(replies);
  }
  return node;
}

async function showReplies(c, container, button) {
  button.disabled = true;
  const loaded = [];
  try {
    let replyCursor = 0, more = true;
    while (more) {
      const query = new URLSearchParams({item_id: c.aweme_id, comment_id: c.cid, cursor: replyCursor, count: PAGE});
      const page = await getJSON(`${COMMENT_API}/reply/?${query}`);
      loaded.push(...page.comments);
      replyCursor = page.cursor;
      more = page.has_more === 1;
    }
  } catch (error) {
    button.disabled = false;
    toast(error.message);
    return;
  }
  container.replaceChildren(...loaded.map((r) => renderComment(r, c.cid)));
  button.remove();
}

function openReplyBox(node, c, threadCid) {
  document.querySelectorAll('.reply-box').forEach((box) => box.remove());
  const editor = h('div', {contenteditable: 'true', class: 'reply-editor', 'data-placeholder': `回复 ${c.user.nickname}`});
  const send = h('button', {class: 'primary reply-send'}, '发送');
  const box = h('div', {class: 'reply-box', 'data-reply-to': c.cid}, editor, send);
  send.addEventListener('click', () => sendReply(box, editor, send, c, threadCid));
  node.append(box);
  editor.focus();
}

async function sendReply(box, editor, button, c, threadCid) {
  const text = editor.innerText.trim();
  if (!text) {
    toast('回复内容不能为空');
    return;
  }
  button.disabled = true;
  let answer;
  try {
    answer = await post('/aweme/v1/creator/comment/reply/', {comment_Id: c.cid, item_id: work.itemId, text});
  } catch (error) {
    answer = {status_code: -1, status_msg: '回复失败，请稍后重试'};
  }
  button.disabled = false;
  if (answer.status_code !== 0) {
    toast(answer.status_msg);
    return;
  }
  const info = answer.comment_info;
  const reply = {
    cid: info.comment_id, aweme_id: c.aweme_id, text: info.text, create_time: info.create_time, digg_count: 0,
    reply_comment_total: 0, reply_id: info.reply_id, image_list: null, ip_label: ME.ip_label, label_text: '作者',
    user: {uid: ME.uid, nickname: ME.nickname, avatar_thumb: {url_list: [ME.avatar]}},
  };
  box.remove();
  document.querySelector(`.comment-item[data-cid="${threadCid}"] > .comment-replies`)
    .append(renderComment(reply, threadCid));
  toast('回复成功');
}

document.getElementById('select-work').addEventListener('click', () => { picker.hidden = !picker.hidden; });
optionsMore.addEventListener('click', () => loadOptions().catch((error) => toast(error.message)));
moreButton.addEventListener('click', () => loadComments().catch((error) => toast(error.message)));

(async () => {
  const first = await loadOptions();
  const wanted = new URLSearchParams(location.search).get('aweme_id');
  const known = first.find((item) => item.item_id_plain === wanted) || (!wanted && first[0]);
  if (known) selectWork(known.item_id_plain, known.item_id, known.title);
  else if (wanted) selectWork(wanted, wanted, `作品 ${wanted}`);
  else empty.hidden = false;
})().catch((error) => toast(error.message));
