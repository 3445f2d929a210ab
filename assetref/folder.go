package assetref

// Folder is a directory the user picked (File System Access: a
// FileSystemDirectoryHandle), in which a store keeps assets whose refs are
// of kind fs-handle. Values come from the JavaScript binding, which wraps
// the handle the page hands over; Go code passes them on to the library
// (to persist the folder, to open a store in it) and can only ask their
// name. The browser may withhold access to a folder in a later session
// until the user grants it again.
type Folder interface {
	// Name returns the directory's name, for the app to show.
	Name() string
}
