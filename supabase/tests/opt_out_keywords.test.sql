-- Opt-out keywords (20261207001300_portuguese_opt_out.sql): what a customer's message asks
-- of their subscription, in English and in Portuguese, and Twilio's OptOutType first.
begin;
\ir act_as.psql
select plan(9);

select pg_temp.act_as_service_role();

select is(
    (select array_agg(distinct private.subscription_intent(word))
     from unnest(array['PARAR', 'parar', 'Parar', 'SAIR', 'sair', 'Saír', 'SAÍR',
                       'CANCELAR', 'cancelar', 'Cancelár', 'DESCADASTRAR', 'descadastrar',
                       'STOP', 'stop', 'Cancel']) as word),
    array['opt_out'],
    'PARAR, SAIR, CANCELAR and DESCADASTRAR opt out as STOP does, in any case, with or without accents'
);
select is(
    (select array_agg(distinct private.subscription_intent(word))
     from unnest(array['VOLTAR', 'voltar', 'Voltár', 'INICIAR', 'iniciar', 'Iníciar',
                       'START', 'start']) as word),
    array['opt_in'],
    'VOLTAR and INICIAR opt back in as START does'
);
select is(
    (select array_agg(distinct private.subscription_intent(word))
     from unnest(array['  parar ', E'Parar.\n', E'\tSAIR!', E'sair\u00a0', 'cancelar?',
                       -- "í" written as "i" and a combining acute accent (U+0301)
                       E'Sai\u0301r', '...descadastrar!!']) as word),
    array['opt_out'],
    'white space, punctuation around the word and a decomposed accent are ignored'
);
select is(
    (select array_agg(distinct coalesce(private.subscription_intent(word), 'none'))
     from unnest(array['parar de mandar', 'quero sair', 'não quero cancelar',
                       'PARAR PARAR', 'saída', 'voltaremos', 'sair.sair', 'Oi', '',
                       'iniciar o pedido']) as word),
    array['none'],
    'a keyword is the whole message: a sentence that holds one asks nothing'
);
select is(private.subscription_intent(null), null, 'a message without text asks nothing');
select is(
    private.subscription_intent('parar' || repeat(' ', 70)),
    null,
    'a message longer than any keyword is never one'
);
select is(
    (select array[private.subscription_intent('Oi', 'STOP'),
                  private.subscription_intent('PARAR', 'START'),
                  private.subscription_intent('VOLTAR', 'stop')]),
    array['opt_out', 'opt_in', 'opt_out'],
    'Twilio''s OptOutType wins over the body'
);
select is(
    private.subscription_intent('PARAR', 'HELP'),
    null,
    'OptOutType HELP asks nothing, whatever the body'
);
select is(
    (select array[private.subscription_intent('PARAR', ''),
                  private.subscription_intent('VOLTAR', null)]),
    array['opt_out', 'opt_in'],
    'an empty or missing OptOutType leaves the body to decide'
);

select * from finish();
rollback;
