-- Channels are identified by Twilio account and number (issue 17, item 7).
--
-- A number is unique per kind, account and number: the API verifies with Twilio that
-- the number belongs to the account before it stores a channel (an SMS number among
-- the account's incoming phone numbers, a WhatsApp number among its senders), so no
-- account can claim another's number. Twilio's shared WhatsApp Sandbox number
-- (+1 415 523 8886) is every account's: several accounts (and organizations) may each
-- have a channel on it. Inbound webhooks find their channel by AccountSid and To
-- (`channel_for_webhook`), which this key makes unique.

alter table public.channels
    drop constraint channels_kind_phone_number_key,
    add constraint channels_twilio_account_sid_kind_phone_number_key
        unique (twilio_account_sid, kind, phone_number);

comment on constraint channels_twilio_account_sid_kind_phone_number_key on public.channels is
    'One channel per Twilio account, kind and number; accounts may share the Sandbox number.';
