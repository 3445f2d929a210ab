// Command atelier-sync is the sync server of atelier: the syncproto routes
// over an embedded SQLite database (or PostgreSQL) and a directory of
// blobs (or an S3 bucket).
//
// # Basics
//
//	atelier-sync -data ./sync-data -tokens tokens.json
//	atelier-sync -data ./sync-data -token dev-token=dev     # development
//	atelier-sync -postgres postgres://user@db/atelier -data ./blobs -tokens tokens.json
//	atelier-sync -data ./sync-data -dump dev                # what workspace dev holds, as JSON
//	atelier-sync gc -data ./sync-data                       # what garbage collection would delete
//	atelier-sync gc -data ./sync-data -apply                # delete it
//	AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... \
//	  atelier-sync -data ./sync-data -tokens tokens.json \
//	  -s3-endpoint https://s3.eu-west-1.amazonaws.com -s3-region eu-west-1 -s3-bucket atelier-blobs
//
// With -postgres, any number of processes may serve one database behind a
// load balancer, on one host or several (see Several processes).
//
// The tokens file is a JSON object of bearer token to workspace; a key may
// be "sha256:" and the hex SHA-256 of the token instead of the token. The
// data directory holds sync.db (unless -postgres is given), blobs/, and
// secret, the key that signs blob URLs, created on first start.
//
// # Several processes
//
// Processes serving one PostgreSQL database must share the tokens, the
// secret (-secret, or the one in -data: a blob URL signed by one is used
// at another) and the blobs (-data on storage they all reach, or one
// bucket: an upload through one is downloaded through another). Start
// them one after the other the first time, so that the first creates the
// secret the others read, or give them a -secret file made beforehand.
//
// Each process announces the changes written through it to the others
// through PostgreSQL's LISTEN/NOTIFY, on a connection of its own, so a
// client watching one hears of a push to another in milliseconds.
// -watch-poll (5 s) is how often a held watch reads the database anyway:
// it matters only while a process is reconnecting to the database, or
// when notifications cannot reach it (through a pooler in transaction
// mode).
//
// # Blobs in S3
//
// -s3-endpoint (a URL: https://host or http://host:port) puts the bytes of
// assets in a bucket of an S3-compatible store (AWS S3, SeaweedFS, MinIO)
// instead of DATA/blobs; see package s3blob. The other flags:
//
//   - -s3-bucket: the bucket, which must exist (required).
//   - -s3-region: its region, when the store does not tell.
//   - -s3-prefix: a key prefix, to share a bucket (blobs are
//     PREFIX/sha256/HEX).
//   - -s3-path-style: bucket in the path rather than the host name, as
//     most self-hosted stores need.
//   - -s3-access-key and -s3-secret-key-file: the credentials, by default
//     $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY. The secret key is
//     never a flag, where other users of the machine could read it.
//   - -s3-presign: hand out presigned URLs of the bucket, so that asset
//     bytes go straight between browsers and the store instead of through
//     the server. An upload's URL requires the blob's SHA-256 (the store
//     refuses other bytes), and the blob reaches the workspace only when
//     the client commits it and the server found it stored whole. The
//     bucket needs a CORS rule for the app's origin (PUT and GET, the
//     header x-amz-checksum-sha256), and clients must be of this version:
//     older ones do not commit. Blobs over 5 GiB still go through the
//     server.
//
// The server checks at start that the bucket exists and takes its
// credentials, and refuses to start otherwise.
//
// # Large assets
//
// A blob larger than -part-threshold (64 MiB; negative: never) goes up in
// parts of -part-size (16 MiB, at least 5 MiB as S3 requires), so that an
// upload that broke off resumes from the parts stored instead of from
// zero. With -s3-presign the parts go to presigned UploadPart URLs of the
// bucket (its CORS rule must allow PUT with x-amz-checksum-sha256, as for
// whole blobs); the commit then reads the joined blob back once to check
// its SHA-256. Parts of uploads never committed are removed from
// DATA/blobs/uploads after a week (at start); a bucket needs a lifecycle
// rule that aborts incomplete multipart uploads.
//
// # Garbage collection
//
// atelier-sync gc collects the garbage of the database and blobs that the
// same -data, -postgres and -s3-* flags as the server's name (see
// server.GC): blob records that no live entity of their workspace has
// mentioned for -gc-grace (24h), the bytes of blobs that no workspace has
// a record of and no upload may still bring, and acks older than
// -ack-retention (720h, 30 days; negative keeps them). It is a dry run
// unless given -apply: it prints how many blob records, blobs' bytes and
// acks it would delete, with their sizes, and changes nothing; -v lists
// the blob records. A blob record goes only on a collection that finds it
// unreferenced a grace after one that first did (-apply marks it), so run
// it regularly, or give the server -gc-every (off by default), which
// collects with -gc-grace and -ack-retention at that interval and logs
// what it deleted. Collections may run while servers serve the database,
// and in several processes at once.
//
// A device that comes back with operations the server never acknowledged
// to it, made longer than -ack-retention ago, is answered "Resync": its
// sync engine pulls the whole workspace again and parks those
// operations, reporting them to the app, which may retry them (they then
// go as new operations). Choose a retention longer than devices stay
// offline.
//
// # Slow and hostile clients
//
// The defaults are meant for the public internet:
//
//   - -max-conns 1024: at most that many connections are open; more wait
//     to be accepted. -max-conns-per-ip 128: at most that many from one
//     IPv4 address or IPv6 /64; more are answered 503 and closed.
//   - -stall-timeout 15s: a request header must arrive within it, and a
//     body must start arriving within it and never stall for longer.
//   - -min-rate 16384: a body must arrive at 16 KiB/s on average, counted
//     from its start with the first -stall-timeout as a head start, so
//     that a 1 GiB upload gets the hours it needs and a body dribbled a
//     byte at a time is cut off after 15 s (408). Responses must be taken
//     at that rate too.
//   - Requests are authenticated from their header: a body is never read
//     before its token or URL signature is checked, and the connection
//     of a refused request closes, after reading at most a second of what
//     is left.
//   - Request headers are bounded to 64 KiB (431 beyond).
//
// On SIGINT or SIGTERM the server stops accepting, cuts off bodies still
// arriving (503) and connections that have not sent a whole header, gives
// the requests in progress -shutdown-timeout (10 s) to finish, then
// closes what remains, and exits 0.
//
// # Caveats
//
// A process starting removes the unfinished uploads in its blob
// directory: those another process is receiving into a shared one then
// fail (500), and their clients upload again.
//
// The server speaks plain HTTP; put it behind a TLS-terminating proxy in
// production and set -base-url to its public address, so that signed
// URLs point there. Behind a proxy every connection comes from the
// proxy's address: give -max-conns-per-ip 0 and let the proxy limit
// clients.
//
// net/http answers some malformed requests before the server sees them,
// in plain text rather than the protocol's JSON: a request line or header
// it cannot parse, a malformed Content-Length or Transfer-Encoding (400),
// a header over 64 KiB (431), an unsupported HTTP version (505). Clients
// of the protocol do not send these.
package main
