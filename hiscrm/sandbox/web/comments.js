'use strict';
// The older comment page (interactive/comment): pick a work through "选择作品", its comments come from
// the V2 select API and load on as the list end scrolls into view; "查看N条回复" loads a thread.
// Rows carry no ids: the row's text and operations bar (回复 / 删除 / 举报, divs, not buttons) are all
// there is, and the comment itself sits in the row's fiber props.

const COMMENT_API = '/web/api/third_party/aweme/api/comment/read/aweme/v1/web/comment/list';
const PAGE = 20;
const QUERY = {comment_select_options: 0, sort_options: 0, channel_id: 618, app_id: 2906, aid: 2906};
const picker = document.getElementById('work-picker');
const options = document.getElementById('work-options');
const optionsMore = document.getElementById('work-options-more');
const current = document.getElementById('current-work');
const list = document.getElementById('comment-list');
const end = document.getElementById('comments-end');
const publish = document.getElementById('publish-box');
let work = null;
let cursor = 0;
let optionsCursor = 0;
let observer = null;

async function loadOptions() {
  const page = await getJSON(`/aweme/v1/creator/item/list/?cursor=${optionsCursor}&count=${PAGE}&aid=2906`);
  options.append(...page.item_info_list.map((item) => h('div', {
    class: 'container-Lkxos9',
    onclick: () => {
      picker.hidden = true;
      selectWork(item);
    },
  }, h('div', {class: 'title-LUOP3b'}, item.title), h('span', {class: 'muted'}, `${item.create_time} · 评论 ${item.comment_count}`))));
  optionsCursor = page.cursor;
  optionsMore.hidden = !page.has_more;
}

function selectWork(item) {
  work = item;
  current.textContent = item.title;
  publish.hidden = false;
  list.replaceChildren();
  end.textContent = '';
  cursor = 0;
  observer?.disconnect();
  observer = onScrolledTo(end, loadComments);
}

async function loadComments() {
  const forWork = work;
  const query = new URLSearchParams({aweme_id: forWork.item_id_plain, cursor, count: PAGE, ...QUERY});
  const page = await getJSON(`${COMMENT_API}/select/?${query}`);
  if (forWork !== work) return false;
  list.append(...page.comments.map((c) => renderComment(c, c.cid)));
  cursor = page.cursor;
  if (!page.has_more) end.textContent = list.children.length ? '没有更多评论' : '暂无评论';
  return page.has_more === 1;
}

function renderComment(c, threadCid) {
  const operations = h('div', {class: 'operations-WFV7Am'},
    h('div', {class: 'item-M3fSkJ', onclick: () => openReplyBox(node, c, threadCid)}, '回复'),
    h('div', {class: 'item-M3fSkJ'}, '删除'),
    h('div', {class: 'item-M3fSkJ'}, '举报'));
  const node = h('div', {class: 'container-sXKyMs'},
    h('img', {class: 'avatar-Pm2sq', src: c.user.avatar_thumb.url_list[0], alt: ''}),
    h('div', {class: 'content-Wq8vn'},
      h('div', {}, h('span', {class: 'username-Hb4xk'}, c.user.nickname),
        c.label_text && h('span', {class: 'label-Tc1ej'}, c.label_text)),
      h('div', {class: 'comment-content-text-Jd9cv'}, c.text),
      c.image_list && h('img', {class: 'comment-image', src: c.image_list[0].origin_url.url_list[0], alt: ''}),
      h('div', {class: 'info-Zr5na'},
        h('span', {class: 'time-Xv3ko'}, formatTime(c.create_time * 1000)),
        c.ip_label && h('span', {class: 'ip-Ga2lm'}, `IP属地：${c.ip_label}`),
        h('span', {class: 'digg-Yd7wp'}, `赞 ${c.digg_count}`)),
      operations));
  withProps(operations, {className: 'operations-WFV7Am'}, {memoizedProps: {cid: c.cid, comment: c}, return: null});
  if (c.reply_id === '0') {
    const replies = h('div', {class: 'reply-list-Ke6tb'});
    node.append(replies);
    if (c.reply_comment_total > 0) {
      const show = h('div', {class: 'view-replies-Nf2gu'}, `查看${c.reply_comment_total}条回复`);
      show.addEventListener('click', () => toggleReplies(c, replies, show), {once: true});
      node.append(show);
    }
  }
  return node;
}

async function toggleReplies(c, container, toggle) {
  const loaded = [];
  let replyCursor = 0, more = true;
  try {
    while (more) {
      const query = new URLSearchParams({item_id: c.aweme_id, comment_id: c.cid, cursor: replyCursor, count: PAGE, ...QUERY});
      const page = await getJSON(`${COMMENT_API}/reply/?${query}`);
      loaded.push(...page.comments);
      replyCursor = page.cursor;
      more = page.has_more === 1;
    }
  } catch (error) {
    toast(error.message);
    return;
  }
  container.replaceChildren(...loaded.map((r) => renderComment(r, c.cid)));
  toggle.textContent = '收起';
  toggle.addEventListener('click', () => { container.hidden = !container.hidden; });
}

function openReplyBox(node, c, threadCid) {
  document.querySelectorAll('.reply-input-Bx5vt').forEach((box) => box.remove());
  const editor = h('div', {contenteditable: 'true', class: 'input-d24X73', 'data-placeholder': `回复 ${c.user.nickname}：`});
  const send = h('button', {class: 'douyin-creator-interactive-button'},
    h('span', {class: 'douyin-creator-interactive-button-content'}, '发送'));
  const box = h('div', {class: 'reply-input-Bx5vt'}, editor, send);
  send.addEventListener('click', () => sendReply(box, editor, send, c, threadCid));
  node.querySelector(':scope > .content-Wq8vn').append(box);
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
    answer = await post('/aweme/v1/creator/comment/reply/', {comment_Id: c.cid, item_id: work.item_id, text});
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
    reply_comment_total: 0, reply_id: threadCid, image_list: null, ip_label: ME.ip_label, label_text: '作者',
    user: {uid: ME.uid, nickname: ME.nickname, avatar_thumb: {url_list: [ME.avatar]}},
  };
  box.remove();
  const thread = Array.from(list.children).find((row) => propsOf(row.querySelector('.operations-WFV7Am')).return.memoizedProps.cid === threadCid);
  thread.querySelector(':scope > .reply-list-Ke6tb').append(renderComment(reply, threadCid));
  toast('回复成功');
}

// The editor above the list comments on the work itself: the reply endpoint with an empty comment_Id.
async function publishComment() {
  const editor = publish.querySelector('[contenteditable="true"]');
  const button = publish.querySelector('button');
  button.disabled = true;
  const info = await commentOnWork(editor, work.item_id);
  button.disabled = false;
  if (info === null) return;
  list.prepend(renderComment({
    cid: info.comment_id, aweme_id: work.item_id_plain, text: info.text, create_time: info.create_time, digg_count: 0,
    reply_comment_total: 0, reply_id: '0', image_list: null, ip_label: ME.ip_label, label_text: '作者',
    user: {uid: ME.uid, nickname: ME.nickname, avatar_thumb: {url_list: [ME.avatar]}},
  }, info.comment_id));
  toast('评论成功');
}

publish.querySelector('button').addEventListener('click', () => publishComment());
document.getElementById('select-work').addEventListener('click', () => { picker.hidden = !picker.hidden; });
optionsMore.addEventListener('click', () => loadOptions().catch((error) => toast(error.message)));
loadOptions().catch((error) => toast(error.message));
