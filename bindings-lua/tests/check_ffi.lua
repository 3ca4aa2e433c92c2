-- Checks resty.jwtgate's FFI declarations against include/jwtgate.h.
--
--   luajit tests/check_ffi.lua include/jwtgate.h [target/release/libjwtgate.so]
--
-- Every declaration of resty.jwtgate.ffi's CDEF (typedef, struct, function)
-- must appear in the header with the same text once comments, C++-only
-- blocks and spacing are set aside; resty.jwtgate.codes' numbers must be
-- the header's `enum jwtgate_code`, and its CODES list their names in order. With the library, every declared
-- function must resolve in it and `jwtgate_code_name` must give the names
-- of codes.lua. Then the check is run on headers changed on purpose (a
-- field's type, a parameter, a code number, a missing function), each of
-- which must be reported, so the check itself cannot pass by doing nothing.
-- Exits 1 on any problem.
local here = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = here .. "/../lib/?.lua;" .. package.path

local jffi = require "resty.jwtgate.ffi" -- runs ffi.cdef: the text must parse
local codes = require "resty.jwtgate.codes"

local function read(path)
    local f = assert(io.open(path, "rb"))
    local text = f:read("*a")
    f:close()
    return text
end

-- The header as C (not C++) sees it, without comments and directives.
local function c_view(text)
    text = text:gsub("/%*.-%*/", " ")
    local out, skipping, depth = {}, false, 0
    for line in (text .. "\n"):gmatch("([^\n]*)\n") do
        line = line:gsub("//.*$", "")
        local directive = line:match("^%s*#%s*(%w+)")
        if skipping then
            if directive == "if" or directive == "ifdef" or directive == "ifndef" then
                depth = depth + 1
            elseif directive == "endif" then
                if depth == 0 then
                    skipping = false
                else
                    depth = depth - 1
                end
            end
        elseif directive == "ifdef" and line:match("__cplusplus") then
            skipping, depth = true, 0
        elseif not directive then
            out[#out + 1] = line
        end
    end
    return table.concat(out, "\n")
end

local function norm(s)
    s = s:gsub("%s+", " ")
    s = s:gsub(" ?([%*%(%),{};=]) ?", "%1")
    return (s:gsub("^ ", ""):gsub(" $", ""))
end

-- Top-level statements (split at `;` outside braces), normalized.
local function statements(text)
    local list, depth, start = {}, 0, 1
    for i = 1, #text do
        local c = text:sub(i, i)
        if c == "{" then
            depth = depth + 1
        elseif c == "}" then
            depth = depth - 1
        elseif c == ";" and depth == 0 then
            local s = norm(text:sub(start, i - 1))
            if s ~= "" then
                list[#list + 1] = s
            end
            start = i + 1
        end
    end
    return list
end

-- What a statement declares: a function's name, a typedef's name, or an
-- enum's tag.
local function key(s)
    if s:match("^typedef") then
        return "typedef " .. (s:match("%(%*([%w_]+)%)") or s:match("([%w_]+)$"))
    end
    local enum = s:match("^enum ([%w_]+)")
    if enum then
        return "enum " .. enum
    end
    return s:match("([%w_]+)%(")
end

local function index(list)
    local map = {}
    for _, s in ipairs(list) do
        local k = key(s)
        if k then
            map[k] = s
        end
    end
    return map
end

--- Every difference between the declarations and the header.
local function check(header_text, cdef, numbers)
    local problems = {}
    local header = index(statements(c_view(header_text)))
    local seen = {}
    for _, s in ipairs(statements(cdef)) do
        local k = key(s)
        if not k then
            problems[#problems + 1] = "cannot tell what this declares: " .. s
        elseif seen[k] then
            problems[#problems + 1] = "declared twice: " .. k
        else
            seen[k] = true
            local h = header[k]
            if not h then
                problems[#problems + 1] = "not in the header: " .. k
            elseif h ~= s then
                problems[#problems + 1] = "differs from the header: " .. k .. "\n    lua:    " .. s
                    .. "\n    header: " .. h
            end
        end
    end
    local enum = header["enum jwtgate_code"]
    if not enum then
        problems[#problems + 1] = "the header has no enum jwtgate_code"
    else
        local in_header = {}
        for name, number in enum:gmatch("JWTGATE_([%w_]+)=(%d+)") do
            local lname = name:lower()
            in_header[lname] = true
            if numbers[lname] ~= tonumber(number) then
                problems[#problems + 1] = string.format("code %s is %s in the header, %s in codes.lua", lname,
                    number, tostring(numbers[lname]))
            end
        end
        for name in pairs(numbers) do
            if not in_header[name] then
                problems[#problems + 1] = "code " .. name .. " of codes.lua is not in the header"
            end
        end
    end
    -- CODES: the codes of docs/policy.md (1 and up, below the binding's
    -- own 1000s) in C enum order.
    for i, name in ipairs(codes.CODES) do
        if numbers[name] ~= i then
            problems[#problems + 1] = string.format("CODES[%d] is %s, numbered %s", i, name, tostring(numbers[name]))
        end
    end
    for name, number in pairs(numbers) do
        if number >= 1 and number < 1000 and codes.CODES[number] ~= name then
            problems[#problems + 1] = "code " .. name .. " is missing from CODES"
        end
    end
    return problems
end

local header_path, lib_path = arg[1], arg[2]
if not header_path then
    io.stderr:write("usage: luajit check_ffi.lua include/jwtgate.h [libjwtgate.so]\n")
    os.exit(2)
end
local header = read(header_path)
local problems = check(header, jffi.CDEF, codes.NUMBERS)

if lib_path then
    local ffi = require "ffi"
    local lib = jffi.load(lib_path)
    for _, s in ipairs(statements(jffi.CDEF)) do
        local name = key(s)
        if name and not name:match(" ") then
            local ok, err = pcall(function() return lib[name] end)
            if not ok then
                problems[#problems + 1] = "not in " .. lib_path .. ": " .. name .. " (" .. tostring(err) .. ")"
            end
        end
    end
    for name, number in pairs(codes.NUMBERS) do
        local s = lib.jwtgate_code_name(number)
        local got = s.data ~= nil and ffi.string(s.data, s.len) or "(none)"
        if got ~= name then
            problems[#problems + 1] = string.format("jwtgate_code_name(%d) is %s, codes.lua says %s", number, got, name)
        end
    end
end

-- The check must catch drift: each of these changed headers must fail it.
local drifts = {
    { "a field's type", "size_t headers_len;", "uint32_t headers_len;" },
    { "a parameter", "jwtgate_decision_removes_header(const jwtgate_decision *decision,",
      "jwtgate_decision_removes_header(const jwtgate_decision *decision, int flags," },
    { "a return type", "uint16_t jwtgate_decision_status(", "uint32_t jwtgate_decision_status(" },
    { "a code number", "JWTGATE_CLAIM = 11,", "JWTGATE_CLAIM = 22," },
    { "a missing function", "void jwtgate_decision_free(jwtgate_decision *decision);", "" },
    { "a new field", "bool no_wait;", "bool no_wait;\n  bool strict;" },
}
for _, d in ipairs(drifts) do
    local what, from, to = d[1], d[2], d[3]
    local start, stop = header:find(from, 1, true)
    if not start then
        problems[#problems + 1] = "self-test: the header no longer has `" .. from .. "` (update the drift list)"
    else
        local changed = header:sub(1, start - 1) .. to .. header:sub(stop + 1)
        if #check(changed, jffi.CDEF, codes.NUMBERS) == 0 then
            problems[#problems + 1] = "self-test: a header with " .. what .. " changed passed the check"
        end
    end
end

if #problems > 0 then
    io.stderr:write("FAILED: resty.jwtgate's FFI declarations do not match " .. header_path .. ":\n")
    for _, p in ipairs(problems) do
        io.stderr:write("  " .. p .. "\n")
    end
    os.exit(1)
end
local n = #statements(jffi.CDEF)
print(string.format("ok - %d FFI declarations match %s%s; %d drifts caught", n, header_path,
    lib_path and (" and " .. lib_path) or "", #drifts))
