// The workspace's items and threads, read from /api/im: one item shape for every list, a comment's thread
// (the comment, its replies, its work), a DM conversation (oldest at the top, earlier pages on demand),
// and answering through the IM send routes (the same reply flow and worker as everything else).

import { im, query } from "./api.js";

// crypto.randomUUID exists only on https or localhost; a console reached over plain http on a LAN has not got it.
export const requestId = () =>
  `console-${[...crypto.getRandomValues(new Uint8Array(12))].map((b) => b.toString(16).padStart(2, "0")).join("")}`;

/** One list item, whichever route it came from: {key, id, account_id, kind, who, text, at, is_read, …}. */
export function fromUnified(m) {
  return {
    key: `${m.account_id}|${m.msg_id}`,
    id: m.msg_id,
    account_id: m.account_id,
    kind: m.business_type,
    who: m.sender?.user_name || m.sender?.user_id || "?",
    text: m.content,
    at: m.create_time,
    is_read: m.is_read,
    work_title: m.work_title,
    content_id: m.content_id,
    parent_comment_id: m.parent_comment_id,
    conversation_id: m.conversation_id,
    peer: m.direction === "outbound" ? m.receiver : m.sender,
  };
}

export function fromDiscussion(d) {
  return {
    key: `${d.account_id}|${d.discussion_id}`,
    id: d.discussion_id,
    account_id: d.account_id,
    kind: d.parent_comment_id ? "discussion" : "comment",
    who: d.author?.author_name || d.author?.author_id || "?",
    text: d.content,
    at: d.created_at,
    is_read: d.is_read,
    work_title: d.post_title,
    content_id: d.content_id,
    parent_comment_id: d.parent_comment_id,
    send_status: d.send_status,
  };
}

export function fromMessage(m) {
  return {
    key: `${m.account_id}|${m.msg_id}`,
    id: m.msg_id,
    account_id: m.account_id,
    kind: "direct_message",
    who: m.sender?.user_name || m.sender?.user_id || "?",
    text: m.is_recalled ? "(recalled)" : m.content,
    at: m.create_time,
    is_read: m.is_read,
    conversation_id: m.conversation_id,
    peer: m.direction === "outbound" ? m.receiver : m.sender,
    mine: m.direction === "outbound",
    status: m.status,
  };
}

const byTime = (a, b) => a.at - b.at || (a.id < b.id ? -1 : 1);
const DM_PAGE = 30;

/** A comment's thread: the top comment, its replies oldest first, and its work. */
export async function commentThread(item) {
  const head = item.kind === "discussion" ? item.parent_comment_id : item.id;
  const at = { account_id: item.account_id };
  const [top, replies, work] = await Promise.all([
    im("GET", `/api/im/discussions/${encodeURIComponent(head)}${query(at)}`).catch(() => null),
    im("GET", `/api/im/discussions/comments/${encodeURIComponent(head)}/discussions${query({ ...at, count: 100 })}`),
    item.content_id
      ? im("GET", `/api/im/contents/${encodeURIComponent(item.content_id)}${query(at)}`).catch(() => null)
      : null,
  ]);
  const first = top?.data ? fromDiscussion(top.data) : item.kind === "comment" ? item : null;
  const rest = (replies.data.discussions || []).map(fromDiscussion).sort(byTime);
  return { head, messages: [...(first ? [first] : []), ...rest], work: work?.data || null };
}

/** A page of a DM conversation, newest first from the server, returned oldest first for a chat. */
export async function conversationPage(item, cursor = 0) {
  const path = `/api/im/messages/conversations/${encodeURIComponent(item.conversation_id)}/messages`;
  const page = await im("GET", `${path}${query({ account_id: item.account_id, cursor, count: DM_PAGE })}`);
  const data = page.data;
  return { messages: (data.messages || []).map(fromMessage).reverse(), cursor: data.cursor, has_more: data.has_more };
}

/** What the reply box answers when it comments on the work of a comment thread's `item`, at the top level. */
export const workTarget = (item) => ({ ...item, kind: "work", id: item.content_id });

/** Answer `item` with `text`: a reply under the comment, a DM in its conversation, or (a `workTarget`) a
 * top-level comment on the work. Answers {id, status}. */
export async function send(item, text, request) {
  if (item.kind === "direct_message") {
    const body = { account_id: item.account_id, conversation_id: item.conversation_id, content: text, request_id: request };
    const page = await im("POST", "/api/im/messages", body);
    const status = page.data.status;
    return { id: page.data.msg_id ?? page.data.id, status: !status || status === "sending" ? "pending" : status };
  }
  const target = item.kind === "work" ? { content_id: item.content_id } : { parent_comment_id: item.id };
  const body = { account_id: item.account_id, ...target, content: text, request_id: request };
  const page = await im("POST", "/api/im/discussions", body);
  return { id: page.data.discussion_id ?? page.data.id, status: page.data.send_status || "pending" };
}

/** Where a sent reply stands, asked when the live feed is down: pending, sent or failed. */
export async function sendStatus(item, id) {
  const at = query({ account_id: item.account_id });
  if (item.kind === "direct_message") {
    const page = await im("GET", `/api/im/messages/${encodeURIComponent(id)}${at}`);
    return page.data.status === "sending" ? "pending" : page.data.status;
  }
  const page = await im("GET", `/api/im/discussions/${encodeURIComponent(id)}${at}`);
  return page.data.send_status || "sent";
}
