package pack

import "strings"

// The tables below are written out rather than taken from package mime,
// whose answers depend on the host's mime.types files: a package must get
// the same file names wherever it is written.

// extByMIME maps a media type, lower case and without parameters, to the
// extension of an embedded asset's file.
var extByMIME = map[string]string{
	"image/png":                "png",
	"image/apng":               "png",
	"image/jpeg":               "jpg",
	"image/jpg":                "jpg",
	"image/pjpeg":              "jpg",
	"image/webp":               "webp",
	"image/gif":                "gif",
	"image/avif":               "avif",
	"image/heic":               "heic",
	"image/heif":               "heif",
	"image/jxl":                "jxl",
	"image/svg+xml":            "svg",
	"image/bmp":                "bmp",
	"image/tiff":               "tiff",
	"image/x-icon":             "ico",
	"image/vnd.microsoft.icon": "ico",
	"video/mp4":                "mp4",
	"video/webm":               "webm",
	"video/quicktime":          "mov",
	"video/x-matroska":         "mkv",
	"video/ogg":                "ogv",
	"video/mpeg":               "mpeg",
	"video/x-msvideo":          "avi",
	"video/3gpp":               "3gp",
	"audio/mpeg":               "mp3",
	"audio/mp3":                "mp3",
	"audio/mp4":                "m4a",
	"audio/aac":                "aac",
	"audio/ogg":                "ogg",
	"audio/opus":               "opus",
	"audio/webm":               "weba",
	"audio/wav":                "wav",
	"audio/x-wav":              "wav",
	"audio/wave":               "wav",
	"audio/flac":               "flac",
	"audio/x-flac":             "flac",
	"audio/aiff":               "aiff",
	"application/json":         "json",
	"application/pdf":          "pdf",
	"application/zip":          "zip",
	"application/gzip":         "gz",
	"application/octet-stream": "bin",
	"application/wasm":         "wasm",
	"application/xml":          "xml",
	"text/plain":               "txt",
	"text/markdown":            "md",
	"text/csv":                 "csv",
	"text/html":                "html",
	"text/xml":                 "xml",
	"model/gltf-binary":        "glb",
	"model/gltf+json":          "gltf",
	"font/woff":                "woff",
	"font/woff2":               "woff2",
	"font/ttf":                 "ttf",
	"font/otf":                 "otf",
}

// essence returns the media type without parameters, in lower case.
func essence(mime string) string {
	if i := strings.IndexAny(mime, "; \t"); i >= 0 {
		mime = mime[:i]
	}
	return strings.ToLower(mime)
}

// extFor returns the file extension for an asset of the given media type:
// "bin" for types not in the table.
func extFor(mime string) string {
	if ext, ok := extByMIME[essence(mime)]; ok {
		return ext
	}
	return "bin"
}

// compressible reports whether deflating content of the given media type
// is worth the time. Media formats that are compressed already (nearly
// all images, video and audio, archives, fonts in WOFF) gain a percent
// or two at the cost of the slowest part of an export, so they are
// stored; everything else, unknown types included, is deflated.
func compressible(mime string) bool {
	typ, sub, _ := strings.Cut(essence(mime), "/")
	switch typ {
	case "image":
		switch sub {
		case "svg+xml", "bmp", "x-ms-bmp", "tiff", "x-icon", "vnd.microsoft.icon",
			"x-portable-pixmap", "x-portable-graymap", "x-portable-bitmap", "x-portable-anymap",
			"vnd.adobe.photoshop":
			return true
		}
		return false
	case "video":
		return false
	case "audio":
		switch sub {
		case "wav", "x-wav", "wave", "vnd.wave", "aiff", "x-aiff", "basic":
			return true
		}
		return false
	case "font":
		return sub != "woff" && sub != "woff2"
	case "application":
		if strings.HasSuffix(sub, "+zip") || strings.HasPrefix(sub, "vnd.openxmlformats-") ||
			strings.HasPrefix(sub, "vnd.oasis.opendocument.") {
			return false
		}
		switch sub {
		case "zip", "gzip", "x-gzip", "zstd", "x-7z-compressed", "x-rar-compressed", "vnd.rar",
			"x-bzip2", "x-xz", "x-lzip", "x-compress", "x-lz4", "brotli", "pdf", "ogg",
			"java-archive", "vnd.android.package-archive":
			return false
		}
	}
	return true
}
