'use strict';
// Creator home: the account card, built from the profile answer.

async function loadProfile() {
  const {user} = await getJSON('/web/api/media/user/info/');
  const card = document.getElementById('account-card');
  card.replaceChildren(
    h('img', {class: 'account-avatar', src: user.avatar_thumb.url_list[0], alt: user.nickname}),
    h('div', {},
      h('div', {class: 'account-name'}, user.nickname),
      h('div', {class: 'unique_id-Xk3a9', 'data-uid': user.uid}, `抖音号：${user.unique_id}`),
      h('div', {class: 'account-signature muted'}, user.signature),
      h('div', {class: 'account-stats'},
        h('span', {}, '关注 ', h('b', {id: 'following-count'}, formatCount(user.following_count))),
        h('span', {}, '粉丝 ', h('b', {id: 'follower-count'}, formatCount(user.follower_count))),
        h('span', {}, '获赞 ', h('b', {id: 'total-favorited'}, formatCount(user.total_favorited))),
        h('span', {}, '作品 ', h('b', {id: 'aweme-count'}, user.aweme_count)))));
}

loadProfile().catch((error) => toast(error.message));
