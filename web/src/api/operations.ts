// Every GraphQL operation the app sends. GraphQL Code Generator reads this file and types
// each document from ../../schema.graphql (src/gql/, `npm run codegen`).
import { graphql } from "../gql";

export const ConversationFields = graphql(`
  fragment ConversationFields on Conversation {
    id
    status
    aiEnabled
    unreadCount
    windowExpiresAt
    lastMessageAt
    closedAt
    contact {
      id
      name
      phoneNumber
      optedOut
    }
    channel {
      id
      kind
      phoneNumber
      displayName
    }
    assignee {
      id
      fullName
    }
    lastMessage {
      id
      body
      direction
      author
      status
      isError
      createdAt
    }
  }
`);

export const MessageFields = graphql(`
  fragment MessageFields on Message {
    id
    conversationId
    direction
    author
    body
    status
    errorCode
    errorMessage
    isError
    createdAt
    media {
      url
      contentType
      transcriptErrorMessage
    }
    transcript
    location {
      label
      address
      mapUrl
    }
    authorMember {
      id
      fullName
    }
    knowledgeSources {
      text
      document {
        id
        title
      }
    }
  }
`);

export const SignInDocument = graphql(`
  mutation SignIn($input: SignInInput!) {
    signIn(input: $input) {
      __typename
      ... on SignInSuccess {
        session {
          accessToken
          refreshToken
          expiresAt
        }
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const RefreshSessionDocument = graphql(`
  mutation RefreshSession($input: RefreshSessionInput!) {
    refreshSession(input: $input) {
      __typename
      ... on RefreshSessionSuccess {
        session {
          accessToken
          refreshToken
          expiresAt
        }
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const SignOutDocument = graphql(`
  mutation SignOut($input: SignOutInput) {
    signOut(input: $input) {
      revoked
    }
  }
`);

export const ViewerDocument = graphql(`
  query Viewer {
    viewer {
      user {
        id
        fullName
        email
      }
      memberships {
        id
        role
        organization {
          id
          name
        }
      }
    }
  }
`);

export const MembersDocument = graphql(`
  query Members($organizationId: ID!) {
    organization(id: $organizationId) {
      id
      members {
        id
        role
        user {
          id
          fullName
        }
      }
    }
  }
`);

export const InboxDocument = graphql(`
  query Inbox(
    $organizationId: ID!
    $first: Int!
    $after: String
    $status: [ConversationStatus!]
    $assignedTo: ID
    $aiEnabled: Boolean
    $unread: Boolean
    $search: String
  ) {
    organization(id: $organizationId) {
      id
      conversations(
        first: $first
        after: $after
        status: $status
        assignedTo: $assignedTo
        aiEnabled: $aiEnabled
        unread: $unread
        search: $search
      ) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        edges {
          node {
            ...ConversationFields
          }
        }
      }
    }
  }
`);

export const ConversationDocument = graphql(`
  query Conversation($id: ID!, $first: Int!, $after: String) {
    conversation(id: $id) {
      ...ConversationFields
      channel {
        id
        templates {
          id
          name
          language
          body
          variables {
            key
            name
          }
        }
      }
      messages(first: $first, after: $after) {
        pageInfo {
          hasNextPage
          endCursor
        }
        edges {
          node {
            ...MessageFields
          }
        }
      }
    }
  }
`);

export const ConversationEventsDocument = graphql(`
  subscription ConversationEvents($organizationId: ID!) {
    conversationEvents(organizationId: $organizationId) {
      kind
      conversation {
        ...ConversationFields
      }
      message {
        ...MessageFields
      }
    }
  }
`);

export const MarkReadDocument = graphql(`
  mutation MarkConversationRead($input: MarkConversationReadInput!) {
    markConversationRead(input: $input) {
      __typename
      ... on MarkConversationReadSuccess {
        conversation {
          ...ConversationFields
        }
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const SetAiDocument = graphql(`
  mutation SetConversationAi($input: SetConversationAiInput!) {
    setConversationAi(input: $input) {
      __typename
      ... on SetConversationAiSuccess {
        conversation {
          ...ConversationFields
        }
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const AssignDocument = graphql(`
  mutation AssignConversation($input: AssignConversationInput!) {
    assignConversation(input: $input) {
      __typename
      ... on AssignConversationSuccess {
        conversation {
          ...ConversationFields
        }
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const CloseDocument = graphql(`
  mutation CloseConversation($input: CloseConversationInput!) {
    closeConversation(input: $input) {
      __typename
      ... on CloseConversationSuccess {
        conversation {
          ...ConversationFields
        }
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const ReopenDocument = graphql(`
  mutation ReopenConversation($input: ReopenConversationInput!) {
    reopenConversation(input: $input) {
      __typename
      ... on ReopenConversationSuccess {
        conversation {
          ...ConversationFields
        }
      }
      ... on ConversationAlreadyOpen {
        conversationId
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const SendMessageDocument = graphql(`
  mutation SendMessage($input: SendMessageInput!) {
    sendMessage(input: $input) {
      __typename
      ... on SendMessageSuccess {
        reply {
          ...MessageFields
        }
        conversation {
          ...ConversationFields
        }
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const VerifyEmailDocument = graphql(`
  mutation VerifyEmail($input: VerifyEmailInput!) {
    verifyEmail(input: $input) {
      __typename
      ... on VerifyEmailSuccess {
        email
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const RequestPasswordResetDocument = graphql(`
  mutation RequestPasswordReset($input: RequestPasswordResetInput!) {
    requestPasswordReset(input: $input) {
      __typename
      ... on RequestPasswordResetSuccess {
        message
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const ResetPasswordDocument = graphql(`
  mutation ResetPassword($input: ResetPasswordInput!) {
    resetPassword(input: $input) {
      __typename
      ... on ResetPasswordSuccess {
        session {
          accessToken
          refreshToken
          expiresAt
        }
      }
      ... on ValidationError {
        field
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const AcceptInvitationDocument = graphql(`
  mutation AcceptInvitation($input: AcceptInvitationInput!) {
    acceptInvitation(input: $input) {
      __typename
      ... on AcceptInvitationSuccess {
        organizationId
        role
        session {
          accessToken
          refreshToken
          expiresAt
        }
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const SendTemplateDocument = graphql(`
  mutation SendTemplate($input: SendTemplateInput!) {
    sendTemplate(input: $input) {
      __typename
      ... on SendTemplateSuccess {
        templateMessage {
          id
        }
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const AgentFields = graphql(`
  fragment AgentFields on Agent {
    id
    name
    systemPrompt
    model
    temperature
    debounceSeconds
    fallbackMessage
    handoffMessage
    inactivityHours
    followUpMessage
    followUpAfterMinutes
    aiEnabled
    knowledgeEnabled
    knowledgePassages
    answerOnlyFromKnowledge
    visionEnabled
    updatedAt
  }
`);

export const AgentDocument = graphql(`
  query Agent($organizationId: ID!) {
    agent(organizationId: $organizationId) {
      ...AgentFields
    }
  }
`);

export const UpdateAgentDocument = graphql(`
  mutation UpdateAgent($input: UpdateAgentInput!) {
    updateAgent(input: $input) {
      __typename
      ... on UpdateAgentSuccess {
        agent {
          ...AgentFields
        }
      }
      ... on ValidationError {
        field
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const TeamDocument = graphql(`
  query Team($organizationId: ID!) {
    organization(id: $organizationId) {
      id
      members {
        id
        role
        user {
          id
          fullName
          email
        }
      }
      invitations {
        id
        email
        role
        status
        expiresAt
      }
    }
  }
`);

export const InviteMemberDocument = graphql(`
  mutation InviteMember($input: InviteMemberInput!) {
    inviteMember(input: $input) {
      __typename
      ... on UserError {
        message
      }
    }
  }
`);

export const RevokeInvitationDocument = graphql(`
  mutation RevokeInvitation($input: RevokeInvitationInput!) {
    revokeInvitation(input: $input) {
      __typename
      ... on UserError {
        message
      }
    }
  }
`);

export const UpdateMemberRoleDocument = graphql(`
  mutation UpdateMemberRole($input: UpdateMemberRoleInput!) {
    updateMemberRole(input: $input) {
      __typename
      ... on UserError {
        message
      }
    }
  }
`);

export const RemoveMemberDocument = graphql(`
  mutation RemoveMember($input: RemoveMemberInput!) {
    removeMember(input: $input) {
      __typename
      ... on UserError {
        message
      }
    }
  }
`);

export const UsageFields = graphql(`
  fragment UsageFields on Usage {
    from
    messagesIn
    messagesOut
    aiReplies
    fallbacks
    tokensIn
    tokensOut
  }
`);

/** The last 14 days, a day each (aliases: one request; the API answers each period
 * with one SQL statement). */
export const UsageDocument = graphql(`
  query Usage($organizationId: ID!, $d0: DateTime!, $d1: DateTime!, $d2: DateTime!, $d3: DateTime!, $d4: DateTime!, $d5: DateTime!, $d6: DateTime!, $d7: DateTime!, $d8: DateTime!, $d9: DateTime!, $d10: DateTime!, $d11: DateTime!, $d12: DateTime!, $d13: DateTime!, $d14: DateTime!) {
    organization(id: $organizationId) {
      id
      d0: usage(from: $d0, to: $d1) {
        ...UsageFields
      }
      d1: usage(from: $d1, to: $d2) {
        ...UsageFields
      }
      d2: usage(from: $d2, to: $d3) {
        ...UsageFields
      }
      d3: usage(from: $d3, to: $d4) {
        ...UsageFields
      }
      d4: usage(from: $d4, to: $d5) {
        ...UsageFields
      }
      d5: usage(from: $d5, to: $d6) {
        ...UsageFields
      }
      d6: usage(from: $d6, to: $d7) {
        ...UsageFields
      }
      d7: usage(from: $d7, to: $d8) {
        ...UsageFields
      }
      d8: usage(from: $d8, to: $d9) {
        ...UsageFields
      }
      d9: usage(from: $d9, to: $d10) {
        ...UsageFields
      }
      d10: usage(from: $d10, to: $d11) {
        ...UsageFields
      }
      d11: usage(from: $d11, to: $d12) {
        ...UsageFields
      }
      d12: usage(from: $d12, to: $d13) {
        ...UsageFields
      }
      d13: usage(from: $d13, to: $d14) {
        ...UsageFields
      }
    }
  }
`);

// Settings: API keys, outgoing webhooks, the knowledge base's documents, channels.

export const ApiKeyFields = graphql(`
  fragment ApiKeyFields on ApiKey {
    id
    name
    role
    prefix
    createdAt
    lastUsedAt
    revokedAt
    createdBy {
      id
      fullName
    }
  }
`);

export const ApiKeysDocument = graphql(`
  query ApiKeys($organizationId: ID!) {
    organization(id: $organizationId) {
      id
      apiKeys {
        ...ApiKeyFields
      }
    }
  }
`);

export const CreateApiKeyDocument = graphql(`
  mutation CreateApiKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      __typename
      ... on CreateApiKeySuccess {
        secret
        apiKey {
          ...ApiKeyFields
        }
      }
      ... on ValidationError {
        field
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const RevokeApiKeyDocument = graphql(`
  mutation RevokeApiKey($input: RevokeApiKeyInput!) {
    revokeApiKey(input: $input) {
      __typename
      ... on UserError {
        message
      }
    }
  }
`);

export const WebhookEndpointFields = graphql(`
  fragment WebhookEndpointFields on WebhookEndpoint {
    id
    url
    events
    enabled
    disabledReason
    failingSince
    createdAt
  }
`);

export const WebhookEndpointsDocument = graphql(`
  query WebhookEndpoints($organizationId: ID!, $deliveries: Int!) {
    organization(id: $organizationId) {
      id
      webhookEndpoints {
        ...WebhookEndpointFields
        deliveries(first: $deliveries) {
          edges {
            node {
              ...WebhookDeliveryFields
            }
          }
        }
      }
    }
  }
`);

export const WebhookDeliveryFields = graphql(`
  fragment WebhookDeliveryFields on WebhookDelivery {
    id
    event
    status
    attempts
    lastAttemptAt
    lastStatusCode
    lastDurationMs
    lastError
    nextAttemptAt
    deliveredAt
    createdAt
    attemptHistory {
      attempt
      statusCode
      durationMs
      error
      attemptedAt
    }
  }
`);

export const CreateWebhookEndpointDocument = graphql(`
  mutation CreateWebhookEndpoint($input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) {
      __typename
      ... on CreateWebhookEndpointSuccess {
        secret
        endpoint {
          ...WebhookEndpointFields
        }
      }
      ... on ValidationError {
        field
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const UpdateWebhookEndpointDocument = graphql(`
  mutation UpdateWebhookEndpoint($input: UpdateWebhookEndpointInput!) {
    updateWebhookEndpoint(input: $input) {
      __typename
      ... on UserError {
        message
      }
    }
  }
`);

export const RemoveWebhookEndpointDocument = graphql(`
  mutation RemoveWebhookEndpoint($input: RemoveWebhookEndpointInput!) {
    removeWebhookEndpoint(input: $input) {
      __typename
      ... on UserError {
        message
      }
    }
  }
`);

export const RedeliverWebhookDocument = graphql(`
  mutation RedeliverWebhook($input: RedeliverWebhookInput!) {
    redeliverWebhook(input: $input) {
      __typename
      ... on UserError {
        message
      }
    }
  }
`);

export const KnowledgeDocumentFields = graphql(`
  fragment KnowledgeDocumentFields on KnowledgeDocument {
    id
    title
    status
    error
    chunkCount
    sourceFormat
    fileName
    createdAt
    updatedAt
  }
`);

export const KnowledgeDocumentsDocument = graphql(`
  query KnowledgeDocuments($organizationId: ID!, $first: Int!, $after: String) {
    organization(id: $organizationId) {
      id
      knowledgeDocuments(first: $first, after: $after) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        edges {
          node {
            ...KnowledgeDocumentFields
          }
        }
      }
    }
  }
`);

export const AddKnowledgeDocumentDocument = graphql(`
  mutation AddKnowledgeDocument($input: AddKnowledgeDocumentInput!) {
    addKnowledgeDocument(input: $input) {
      __typename
      ... on AddKnowledgeDocumentSuccess {
        document {
          ...KnowledgeDocumentFields
        }
      }
      ... on ValidationError {
        field
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const UpdateKnowledgeDocumentDocument = graphql(`
  mutation UpdateKnowledgeDocument($input: UpdateKnowledgeDocumentInput!) {
    updateKnowledgeDocument(input: $input) {
      __typename
      ... on UpdateKnowledgeDocumentSuccess {
        document {
          ...KnowledgeDocumentFields
        }
      }
      ... on ValidationError {
        field
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const RemoveKnowledgeDocumentDocument = graphql(`
  mutation RemoveKnowledgeDocument($input: RemoveKnowledgeDocumentInput!) {
    removeKnowledgeDocument(input: $input) {
      __typename
      ... on UserError {
        message
      }
    }
  }
`);

export const ChannelFields = graphql(`
  fragment ChannelFields on Channel {
    id
    kind
    phoneNumber
    displayName
    twilioAccountSid
    enabled
    createdAt
    updatedAt
  }
`);

export const ChannelTemplateFields = graphql(`
  fragment ChannelTemplateFields on ChannelTemplate {
    id
    name
    contentSid
    language
    body
    variables {
      key
      name
    }
  }
`);

export const CreateChannelTemplateDocument = graphql(`
  mutation CreateChannelTemplate($input: CreateChannelTemplateInput!) {
    createChannelTemplate(input: $input) {
      __typename
      ... on ChannelTemplateSuccess {
        template {
          ...ChannelTemplateFields
        }
      }
      ... on ValidationError {
        field
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const DeleteChannelTemplateDocument = graphql(`
  mutation DeleteChannelTemplate($input: DeleteChannelTemplateInput!) {
    deleteChannelTemplate(input: $input) {
      __typename
      ... on UserError {
        message
      }
    }
  }
`);

export const ChannelsDocument = graphql(`
  query Channels($organizationId: ID!) {
    organization(id: $organizationId) {
      id
      channels {
        ...ChannelFields
        templates {
          ...ChannelTemplateFields
        }
      }
    }
  }
`);

export const CreateChannelDocument = graphql(`
  mutation CreateChannel($input: CreateChannelInput!) {
    createChannel(input: $input) {
      __typename
      ... on CreateChannelSuccess {
        channel {
          ...ChannelFields
        }
      }
      ... on ValidationError {
        field
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const UpdateChannelDocument = graphql(`
  mutation UpdateChannel($input: UpdateChannelInput!) {
    updateChannel(input: $input) {
      __typename
      ... on UpdateChannelSuccess {
        channel {
          ...ChannelFields
        }
      }
      ... on ValidationError {
        field
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const ScheduledMessageFields = graphql(`
  fragment ScheduledMessageFields on ScheduledMessage {
    id
    body
    templateName
    variables {
      key
      value
    }
    sendAt
    status
    reason
    createdAt
    createdBy {
      id
      fullName
    }
  }
`);

export const ScheduledMessagesDocument = graphql(`
  query ScheduledMessages($id: ID!) {
    conversation(id: $id) {
      id
      scheduledMessages {
        ...ScheduledMessageFields
      }
    }
  }
`);

export const ScheduleMessageDocument = graphql(`
  mutation ScheduleMessage($input: ScheduleMessageInput!) {
    scheduleMessage(input: $input) {
      __typename
      ... on ScheduleMessageSuccess {
        scheduledMessage {
          ...ScheduledMessageFields
        }
      }
      ... on ValidationError {
        field
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const CancelScheduledMessageDocument = graphql(`
  mutation CancelScheduledMessage($input: CancelScheduledMessageInput!) {
    cancelScheduledMessage(input: $input) {
      __typename
      ... on CancelScheduledMessageSuccess {
        scheduledMessage {
          ...ScheduledMessageFields
        }
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const ContactFields = graphql(`
  fragment ContactFields on Contact {
    id
    name
    displayName
    profileName
    phoneNumber
    optedOut
    tags
    attributes
    lastInboundAt
  }
`);

export const ContactsDocument = graphql(`
  query Contacts($org: ID!, $first: Int!, $after: String, $search: String, $tag: String) {
    organization(id: $org) {
      id
      contacts(first: $first, after: $after, search: $search, tag: $tag) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        edges {
          node {
            ...ContactFields
          }
        }
      }
    }
  }
`);

export const ChannelTemplatesDocument = graphql(`
  query ChannelTemplates($org: ID!) {
    organization(id: $org) {
      id
      channels {
        id
        kind
        phoneNumber
        displayName
        enabled
        templates {
          id
          name
          language
          body
          variables {
            key
            name
          }
        }
      }
    }
  }
`);

export const CreateContactDocument = graphql(`
  mutation CreateContact($input: CreateContactInput!) {
    createContact(input: $input) {
      __typename
      ... on CreateContactSuccess {
        contact {
          ...ContactFields
        }
      }
      ... on ValidationError {
        field
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const UpdateContactDocument = graphql(`
  mutation UpdateContact($input: UpdateContactInput!) {
    updateContact(input: $input) {
      __typename
      ... on UpdateContactSuccess {
        contact {
          ...ContactFields
        }
      }
      ... on ValidationError {
        field
      }
      ... on UserError {
        message
      }
    }
  }
`);

// `message` is the template's Message here and a refusal's String in UserError: GraphQL
// refuses both under one name in a selection, so the success's is aliased.
export const StartConversationDocument = graphql(`
  mutation StartConversation($input: StartConversationInput!) {
    startConversation(input: $input) {
      __typename
      ... on StartConversationSuccess {
        conversation {
          id
        }
        sent: message {
          id
        }
      }
      ... on ValidationError {
        field
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const ContactImportFields = graphql(`
  fragment ContactImportFields on ContactImport {
    id
    status
    fileName
    totalRows
    checkedRows
    writtenRows
    created
    updated
    refusedCount
    error
    finishedAt
  }
`);

export const ImportContactsDocument = graphql(`
  mutation ImportContacts($input: ImportContactsInput!) {
    importContacts(input: $input) {
      __typename
      ... on ImportContactsSuccess {
        contactImport {
          ...ContactImportFields
        }
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const ContactImportDocument = graphql(`
  query ContactImport($org: ID!, $id: ID!, $afterLine: Int) {
    organization(id: $org) {
      id
      contactImport(id: $id) {
        ...ContactImportFields
        refusals(first: 100, afterLine: $afterLine) {
          line
          reason
        }
      }
    }
  }
`);

export const BroadcastFields = graphql(`
  fragment BroadcastFields on Broadcast {
    id
    channelId
    templateName
    body
    ratePerSecond
    status
    total
    queued
    sent
    delivered
    failed
    skipped
    cancelled
    createdAt
    finishedAt
  }
`);

export const BroadcastsDocument = graphql(`
  query Broadcasts($org: ID!) {
    organization(id: $org) {
      id
      channels {
        id
        phoneNumber
        displayName
        enabled
        broadcastRatePerSecond
        templates {
          id
          name
          language
          body
          variables {
            key
            name
          }
        }
      }
      broadcasts(first: 20) {
        edges {
          cursor
          node {
            ...BroadcastFields
          }
        }
      }
    }
  }
`);

export const BroadcastRecipientsDocument = graphql(`
  query BroadcastRecipients($org: ID!, $before: String, $after: String) {
    organization(id: $org) {
      id
      broadcasts(first: 1, after: $before) {
        edges {
          node {
            id
            recipients(first: 100, after: $after) {
              edges {
                node {
                  contactId
                  contactName
                  contactPhoneNumber
                  status
                  reason
                  conversationId
                  handledAt
                }
              }
              pageInfo {
                hasNextPage
                endCursor
              }
            }
          }
        }
      }
    }
  }
`);

export const CreateBroadcastDocument = graphql(`
  mutation CreateBroadcast($input: CreateBroadcastInput!) {
    createBroadcast(input: $input) {
      __typename
      ... on CreateBroadcastSuccess {
        broadcast {
          ...BroadcastFields
        }
      }
      ... on ValidationError {
        field
      }
      ... on UserError {
        message
      }
    }
  }
`);

export const CancelBroadcastDocument = graphql(`
  mutation CancelBroadcast($input: CancelBroadcastInput!) {
    cancelBroadcast(input: $input) {
      __typename
      ... on UserError {
        message
      }
    }
  }
`);

export const SetChannelBroadcastRateDocument = graphql(`
  mutation SetChannelBroadcastRate($input: SetChannelBroadcastRateInput!) {
    setChannelBroadcastRate(input: $input) {
      __typename
      ... on ValidationError {
        field
      }
      ... on UserError {
        message
      }
    }
  }
`);
