request = function()
  local h = {}
  h["Content-Type"] = "application/json"
  return wrk.format("POST", "/cts", h, '{"a":1}')
end
