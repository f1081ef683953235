'use strict';
// Works management: pages of the creator item list, with statistics from the newer work_list.

const PAGE = 12;
const list = document.getElementById('work-list');
const moreButton = document.getElementById('works-more');
let cursor = 0;
let maxCursor = 0;

function renderWork(item, stats) {
  const s = stats?.statistics;
  return h('div', {class: 'work-item', 'data-aweme-id': item.item_id_plain, 'data-item-id': item.item_id},
    h('img', {class: 'work-cover', src: item.cover_image_url, alt: ''}),
    h('div', {},
      h('div', {class: 'work-title'}, item.title, item.is_private && h('span', {class: 'work-private'}, '私密')),
      h('div', {class: 'work-time muted'}, `发布于 ${item.create_time}`),
      h('div', {class: 'work-stats'},
        s ? `播放 ${formatCount(s.play_count)} · 点赞 ${formatCount(s.digg_count)} · ` : '',
        `评论 ${item.comment_count}`),
      h('a', {class: 'work-comments-link', href: `/creator-micro/interactive/comment?aweme_id=${item.item_id_plain}`},
        '查看评论')));
}

async function loadMore() {
  moreButton.disabled = true;
  try {
    const [items, janus] = await Promise.all([
      getJSON(`/aweme/v1/creator/item/list/?cursor=${cursor}&count=${PAGE}`),
      getJSON(`/janus/douyin/creator/pc/work_list?status=0&count=${PAGE}&max_cursor=${maxCursor}`),
    ]);
    const stats = new Map(janus.aweme_list.map((a) => [a.aweme_id, a]));
    list.append(...items.item_info_list.map((item) => renderWork(item, stats.get(item.item_id_plain))));
    cursor = items.cursor;
    maxCursor = janus.max_cursor;
    document.getElementById('works-total').textContent = `共 ${items.total_count} 个作品`;
    moreButton.hidden = !items.has_more;
  } catch (error) {
    toast(error.message);
  } finally {
    moreButton.disabled = false;
  }
}

moreButton.addEventListener('click', loadMore);
loadMore();
