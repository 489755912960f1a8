-- Agents: an organization's AI settings, read and changed by its team. These run as the
-- caller (role authenticated): row-level security shows the agent to members and lets
-- only owners and admins change it.

-- name: agent_by_organization
-- The agent of an organization; nothing when the caller is not a member.
select id, organization_id, name, system_prompt, model, temperature::float8 as temperature,
       history_messages, history_tokens, debounce_seconds, fallback_message, handoff_message,
       inactivity_hours, follow_up_message, follow_up_after_minutes, follow_up_template_id,
       ai_enabled, knowledge_enabled, knowledge_passages, answer_only_from_knowledge,
       vision_enabled, created_at, updated_at
from public.agents
where organization_id = %(organization_id)s;

-- name: update_agent
-- Changes the fields whose set_<field> flag is true; nothing when the caller may not
-- (RLS: owners and admins only).
update public.agents
set name = case when %(set_name)s then %(name)s::text else name end,
    system_prompt = case when %(set_system_prompt)s then %(system_prompt)s::text
                         else system_prompt end,
    model = case when %(set_model)s then %(model)s::text else model end,
    temperature = case when %(set_temperature)s then %(temperature)s::numeric
                       else temperature end,
    history_messages = case when %(set_history_messages)s then %(history_messages)s::integer
                            else history_messages end,
    history_tokens = case when %(set_history_tokens)s then %(history_tokens)s::integer
                          else history_tokens end,
    debounce_seconds = case when %(set_debounce_seconds)s then %(debounce_seconds)s::integer
                            else debounce_seconds end,
    fallback_message = case when %(set_fallback_message)s then %(fallback_message)s::text
                            else fallback_message end,
    handoff_message = case when %(set_handoff_message)s then %(handoff_message)s::text
                           else handoff_message end,
    inactivity_hours = case when %(set_inactivity_hours)s then %(inactivity_hours)s::integer
                            else inactivity_hours end,
    follow_up_message = case when %(set_follow_up_message)s then %(follow_up_message)s::text
                             else follow_up_message end,
    follow_up_after_minutes = case when %(set_follow_up_after_minutes)s
                                   then %(follow_up_after_minutes)s::integer
                                   else follow_up_after_minutes end,
    follow_up_template_id = case when %(set_follow_up_template_id)s
                                 then %(follow_up_template_id)s::uuid
                                 else follow_up_template_id end,
    ai_enabled = case when %(set_ai_enabled)s then %(ai_enabled)s::boolean else ai_enabled end,
    knowledge_enabled = case when %(set_knowledge_enabled)s then %(knowledge_enabled)s::boolean
                             else knowledge_enabled end,
    knowledge_passages = case when %(set_knowledge_passages)s
                              then %(knowledge_passages)s::integer
                              else knowledge_passages end,
    answer_only_from_knowledge = case when %(set_answer_only_from_knowledge)s
                                      then %(answer_only_from_knowledge)s::boolean
                                      else answer_only_from_knowledge end,
    vision_enabled = case when %(set_vision_enabled)s then %(vision_enabled)s::boolean
                          else vision_enabled end
where organization_id = %(organization_id)s
returning id, organization_id, name, system_prompt, model, temperature::float8 as temperature,
          history_messages, history_tokens, debounce_seconds, fallback_message, handoff_message,
          inactivity_hours, follow_up_message, follow_up_after_minutes, follow_up_template_id,
          ai_enabled, knowledge_enabled, knowledge_passages, answer_only_from_knowledge,
          vision_enabled, created_at, updated_at;
