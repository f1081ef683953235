'use strict';
// Works management: pages of the creator item list, with statistics from the newer work_list; more
// load as the end of the list scrolls into view. In the newer generation each work links to its
// work-detail page, where its comments are managed.

const PAGE = 12;
const list = document.getElementById('work-list');
const end = document.getElementById('works-end');
let cursor = 0;
let maxCursor = 0;

function renderWork(item, stats) {
  const s = stats?.statistics;
  const detail = ME.variants.comment_page === 'work_detail'
    && h('a', {class: 'work-detail-link-Qz3rt',
      href: `/creator-micro/work-management/work-detail/${item.item_id_plain}?enter_from=content&tabKey=commentManagement`},
    '评论管理');
  return h('div', {class: 'video-card-zQ02ng'},
    h('img', {class: 'video-card-cover-Bd7yk', src: item.cover_image_url, alt: ''}),
    h('div', {},
      h('div', {class: 'video-card-title-Lp3mq'}, item.title, item.is_private && h('span', {class: 'work-private'}, '私密')),
      h('div', {class: 'video-card-time-Sx8nw muted'}, item.create_time),
      h('div', {class: 'video-card-stats-Wm2pf'},
        s ? `播放 ${formatCount(s.play_count)} · 点赞 ${formatCount(s.digg_count)} · ` : '',
        `评论 ${item.comment_count}`),
      detail));
}

async function loadMore() {
  const [items, janus] = await Promise.all([
    getJSON(`/aweme/v1/creator/item/list/?cursor=${cursor}&count=${PAGE}&aid=2906`),
    getJSON(`/janus/douyin/creator/pc/work_list?status=0&count=${PAGE}&max_cursor=${maxCursor}&aid=1128`),
  ]);
  const stats = new Map(janus.aweme_list.map((a) => [a.aweme_id, a]));
  list.append(...items.item_info_list.map((item) => renderWork(item, stats.get(item.item_id_plain))));
  cursor = items.cursor;
  maxCursor = janus.max_cursor;
  document.getElementById('works-total').textContent = `共 ${items.total_count} 个作品`;
  if (!items.has_more) end.textContent = '没有更多了';
  return items.has_more;
}

onScrolledTo(end, loadMore);
