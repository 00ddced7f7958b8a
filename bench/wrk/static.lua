-- wrk script: GET the URL given on the command line (nginx's static file),
-- with the same summary line as the cds scripts.
local common = dofile(os.getenv("CDS_WRK_DIR") .. "/common.lua")
done = common.done
