// The organization's live events (one conversationEvents subscription for the whole app),
// handed to whichever screens listen: the inbox and the open conversation. Screens also
// publish what they changed themselves (a conversation marked read, say), which the
// server announces to no one.
import type { ConversationEventsSubscription } from "./gql/graphql";

export type InboxEvent = ConversationEventsSubscription["conversationEvents"];
export type ConversationData = NonNullable<InboxEvent["conversation"]>;
export type MessageData = NonNullable<InboxEvent["message"]>;
export type BusEvent =
  | InboxEvent
  | { kind: "LOCAL"; conversation: ConversationData; message: MessageData | null };

type Listener = (event: BusEvent) => void;

export class EventBus {
  private listeners = new Set<Listener>();

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: BusEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  /** A change this client made and already knows the outcome of. */
  changed(conversation: ConversationData, message: MessageData | null = null): void {
    this.emit({ kind: "LOCAL", conversation, message });
  }
}
