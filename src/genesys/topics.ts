/**
 * Kinds of Genesys notification topics, for metrics (a topic name carries ids; its kind does
 * not). Patterns from shared/genesys/README.md, "Notifications".
 */

/** The kind of a topic name: `conversation.attributes`, `queue.conversations`, `user.conversations`, `system`, `channel` or `other`. */
export function notificationTopicKind(topicName: string): string {
  if (/^v2\.detail\.events\.conversation\.[^.]+\.attributes$/.test(topicName)) return "conversation.attributes";
  if (/^v2\.routing\.queues\.[^.]+\.conversations(?:\.[a-z]+)?$/.test(topicName)) return "queue.conversations";
  if (/^v2\.users\.[^.]+\.conversations(?:\.[a-z]+)?$/.test(topicName)) return "user.conversations";
  if (topicName.startsWith("v2.system.")) return "system";
  if (topicName === "channel.metadata") return "channel";
  return "other";
}
