-- Opt-out in Portuguese (issue 20, item 8).
--
-- Customers here write PARAR or SAIR, not STOP. A message that is nothing but one of
-- PARAR, SAIR, CANCELAR or DESCADASTRAR opts the contact out, as STOP does; VOLTAR or
-- INICIAR opts them back in, as START does. "Nothing but" means: whatever the case, with
-- or without accents (a phone's keyboard may add them: "Saír", "cancelár"), with
-- surrounding white space (spaces, tabs, line breaks, no-break spaces) and trailing or
-- leading punctuation (". ! ?") ignored; "parar de mandar" or "quero sair" are ordinary
-- messages, as Twilio treats "STOP PLEASE".
--
-- Twilio's own verdict wins when it is given: with Advanced Opt-Out a Messaging Service
-- reports the keyword it matched in OptOutType (STOP, START or HELP), and then that
-- alone decides (HELP asks for nothing), whatever the body says.
--
-- Still no `set search_path` and still `immutable` (see the first definition, in
-- 20261207000200_messaging.sql): pure, built-ins only, inlinable. normalize() needs a
-- UTF8 database, which every Atende database is (the embedded cluster's initdb, and
-- Supabase's).

-- The message as a keyword would read: accents removed (decomposed, then the combining
-- marks dropped, so "SAÍR" and "SAI\u0301R" both read SAIR), upper case, white space and
-- punctuation around it trimmed; null for a message longer than 64 characters, which no
-- keyword is, so a 4,000-character message costs no more than a short one.
create function private.subscription_keyword(body text)
    returns text
    language sql
    immutable
    parallel safe
as $$
    select case when length(body) <= 64 then
        upper(btrim(
            regexp_replace(normalize(body, NFD), '[\u0300-\u036f]', '', 'g'),
            E' \t\r\n\u00a0.!?'
        ))
    end
$$;

comment on function private.subscription_keyword is
    'A customer message folded for keyword matching: no accents, upper case, trimmed of '
    'white space and punctuation.';

revoke all on function private.subscription_keyword(text)
    from public, anon, authenticated, service_role;
grant execute on function private.subscription_keyword(text) to service_role;

create or replace function private.subscription_intent(body text, opt_out_type text default null)
    returns text
    language sql
    immutable
    parallel safe
as $$
    select case
        when nullif(btrim(opt_out_type), '') is not null then
            case upper(btrim(opt_out_type))
                when 'STOP' then 'opt_out'
                when 'START' then 'opt_in'
            end
        when private.subscription_keyword(body) in (
            'STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT',
            'PARAR', 'SAIR', 'CANCELAR', 'DESCADASTRAR'
        ) then 'opt_out'
        when private.subscription_keyword(body) in (
            'START', 'UNSTOP', 'YES', 'VOLTAR', 'INICIAR'
        ) then 'opt_in'
    end
$$;

comment on function private.subscription_intent is
    'opt_out / opt_in / null for a customer message: Twilio''s OptOutType when given, '
    'else the message alone being a keyword (STOP, PARAR, SAIR, CANCELAR, DESCADASTRAR, ... '
    '/ START, VOLTAR, INICIAR, ...).';

comment on column public.contacts.opted_out_at is
    'Set when the customer wrote an opt-out keyword (STOP, PARAR, SAIR, ...; '
    'private.subscription_intent); nothing is sent to them while set.';
