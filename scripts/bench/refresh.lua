-- wrk script: POST /api/auth/refresh as same-origin browsers would, cycling through the
-- sessions in $COOKIES (Cookie header values separated by '|'), so the run measures many
-- families refreshing, not sixteen connections fighting over one.
local sessions = {}
for cookie in string.gmatch(os.getenv("COOKIES"), "[^|]+") do
  table.insert(sessions, cookie)
end
local next_session = 0

request = function()
  next_session = next_session % #sessions + 1
  return wrk.format("POST", nil, {
    ["Cookie"] = sessions[next_session],
    ["Sec-Fetch-Site"] = "same-origin",
  })
end
