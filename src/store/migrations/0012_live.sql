-- 0012: the live area's reads (src/store/live.rs): the agent status log by time (the
-- 坐席状态日志 page's date filters) and by call (why a call went where it went).
CREATE INDEX agent_status_log_by_at ON agent_status_log(at);
CREATE INDEX agent_status_log_by_call ON agent_status_log(call_id) WHERE call_id IS NOT NULL;
