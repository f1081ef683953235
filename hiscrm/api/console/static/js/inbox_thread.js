// One inbox item's thread (a comment with its replies, or a DM conversation), read from /api/im.

import { im, query } from "./api.js";

const byTime = (a, b) => a.at - b.at;

// crypto.randomUUID exists only on https or localhost; a console reached over plain http on a LAN has not got it.
const requestId = () => `console-${[...crypto.getRandomValues(new Uint8Array(12))].map((b) => b.toString(16).padStart(2, "0")).join("")}`;

/** The messages around `item`, oldest first, each `{id, who, text, at, mine}`. */
export async function threadOf(item) {
  if (item.business_type === "direct_message") {
    const page = await im(
      "GET",
      `/api/im/messages${query({ account_id: item.account_id, conversation_id: item.conversation_id, count: 100 })}`,
    );
    return (page.data.messages || [])
      .map((m) => ({
        id: m.msg_id,
        who: m.sender?.user_name || m.sender?.user_id,
        text: m.is_recalled ? "(recalled)" : m.content,
        at: m.create_time,
        mine: m.direction === "outbound",
      }))
      .sort(byTime);
  }
  // A comment is its own thread's head; a discussion (a reply) belongs to its parent's thread.
  const head = item.business_type === "discussion" ? item.parent_comment_id : item.msg_id;
  const [parent, replies] = await Promise.all([
    item.business_type === "discussion" ? im("GET", `/api/im/discussions/${encodeURIComponent(head)}`).catch(() => null) : null,
    im("GET", `/api/im/discussions/comments/${encodeURIComponent(head)}/discussions${query({ count: 100 })}`),
  ]);
  const first = parent?.data
    ? { id: head, who: parent.data.author?.author_name, text: parent.data.content, at: parent.data.created_at }
    : item.business_type === "comment"
      ? { id: item.msg_id, who: item.sender?.user_name, text: item.content, at: item.create_time }
      : null;
  const rest = (replies.data.discussions || []).map((d) => ({
    id: d.discussion_id,
    who: d.author?.author_name,
    text: d.content,
    at: d.created_at,
  }));
  return [...(first ? [first] : []), ...rest.sort(byTime)];
}

/** The POST /api/v1/replies body that answers `item` with `text`. */
export function replyTo(item, text) {
  const base = { request_id: requestId(), account_id: item.account_id, reply_content: text };
  if (item.business_type === "direct_message") {
    return {
      ...base,
      target_type: "direct_message",
      target_id: item.msg_id,
      conversation_id: item.conversation_id || undefined,
      user_id: item.sender?.user_id || undefined,
    };
  }
  return {
    ...base,
    target_type: "comment",
    target_id: item.platform_comment_id || item.platform_discussion_id || item.msg_id,
    video_id: item.content_id || undefined,
  };
}
