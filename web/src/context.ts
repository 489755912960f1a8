// What every screen may use: the API, the live events, the signed-in member and the
// organization they are working in.
import { createContext, useContext } from "react";
import type { Api } from "./api/client";
import type { SessionStore } from "./api/session";
import type { EventBus } from "./events";
import type { MembershipRole } from "./gql/graphql";

export interface Member {
  id: string;
  fullName: string;
}

export interface Workspace {
  api: Api;
  session: SessionStore;
  events: EventBus;
  organizationId: string;
  me: Member;
  /** The signed-in member's role in this organization. */
  role: MembershipRole;
  members: Member[];
  /** Say something to the person (role=status, or role=alert when `error`). */
  notify: (message: string, kind?: "info" | "error") => void;
}

export const WorkspaceContext = createContext<Workspace | null>(null);

export function useWorkspace(): Workspace {
  const value = useContext(WorkspaceContext);
  if (!value) throw new Error("useWorkspace outside a workspace");
  return value;
}
