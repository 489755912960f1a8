-- The reason of a scheduled message whose send job was given up (20261207001920) is in
-- words, not one of the codes; the column's comment says so.
comment on column public.scheduled_messages.reason is
    'Why it was skipped or failed: contact_opted_out, channel_disabled, '
    'outside_customer_service_window, conversation_closed, template_not_found, '
    'template_variables_invalid; or, in words, that its send job stopped with its worker '
    'N times (given up by the stalled-job sweep; GraphQL''s STALLED_JOB).';
