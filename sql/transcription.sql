-- Voice notes transcribed (atende.ai.transcription, the job ai:transcribe_audio). As the
-- service role: the job knows which message it is about.

-- name: message_for_transcription
select m.id, m.organization_id, m.direction::text, m.media
from public.messages as m
where m.id = %(message_id)s and m.created_at = private.message_created_at(%(message_id)s);

-- name: record_message_transcript
select private.record_message_transcript_v1(
    %(message_id)s, %(position)s, %(outcome)s::jsonb
) as recorded;
