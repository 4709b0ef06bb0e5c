-- 0003: how long CreateImage took once the instance's guest was down.
ALTER TABLE images ADD COLUMN capture_ms INTEGER;
