-- wrk script for bench/intake.sh: every request is an asynchronous Create of
-- one data extension row. TOKEN and MODE come from the environment.
--
-- MODE=static (the default) sends one fixed body and leaves answers to wrk's
-- own counters, so that the load generator spends as little CPU as it can
-- on the two cores it shares with the server; bench/intake.sh checks
-- afterwards that every answered call was stored. MODE=single builds a
-- distinct row per request and checks each answer in Lua. With
-- MODE=conversation, requests come in pairs: the two parts of a two-part
-- conversation, part 2 first, each pair with its own ConversationID.

local token = os.getenv("TOKEN")
local mode = os.getenv("MODE") or "static"
local counter = 0

local head = [[<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/" ]]
  .. [[xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><Header>]]
  .. [[<fueloauth xmlns="http://exacttarget.com">]] .. token .. [[</fueloauth></Header>]]
  .. [[<Body><CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI"><Options>]]
  .. [[<RequestType>Asynchronous</RequestType>]]
local tail = [[</Options><Objects xsi:type="DataExtensionObject"><CustomerKey>BENCH</CustomerKey>]]
  .. [[<Properties><Property><Name>Value</Name><Value>%s</Value></Property></Properties>]]
  .. [[</Objects></CreateRequest></Body></Envelope>]]

wrk.method = "POST"
wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
wrk.headers["SOAPAction"] = "Create"

-- Each wrk thread runs its own copy of this script. setup runs in the main
-- one, once per thread, and gives each a distinct tag as a global, so that
-- the threads' ConversationIDs never collide.
function setup(thread)
  thread:set("thread_tag", tostring(math.random(1, 1e9)))
end

local function varied_request()
  counter = counter + 1
  local options = ""
  if mode == "conversation" then
    local pair = math.floor((counter + 1) / 2)
    local sequence = (counter % 2 == 1) and 2 or 1
    options = string.format(
      "<ConversationID>bench-%s-%d</ConversationID><SequenceCode>%d</SequenceCode>"
        .. "<CallsInConversation>2</CallsInConversation>",
      thread_tag, pair, sequence)
  end
  local body = head .. options .. string.format(tail, thread_tag .. "-" .. counter)
  return wrk.format(nil, nil, nil, body)
end

local errors = 0
local function checked_response(status, headers, body)
  if status ~= 200 or not string.find(body, "<OverallStatus>OK</OverallStatus>", 1, true) then
    errors = errors + 1
    if errors <= 3 then
      io.stderr:write("unexpected answer: " .. status .. " " .. string.sub(body, 1, 300) .. "\n")
    end
  end
end

-- wrk calls `request` and `response` only when they are defined, and each
-- call costs the load generator CPU; the static mode defines neither.
if mode == "static" then
  wrk.body = head .. string.format(tail, "static")
else
  request = varied_request
  response = checked_response
end
