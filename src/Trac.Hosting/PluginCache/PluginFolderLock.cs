namespace Trac.Hosting.PluginCache;

/// <summary>
/// The lock file beside each folder of a cache directory (<c>&lt;folder&gt;.lock</c>), held by whoever makes or
/// removes the folder, so that processes sharing the cache never do both at once.
/// </summary>
internal static class PluginFolderLock
{
    /// <summary>The end of a lock file's name, after the name of the folder it guards.</summary>
    public const string Suffix = ".lock";

    /// <summary>Tries to take a folder's lock file without waiting; <see langword="null"/> when someone holds it.</summary>
    public static FileStream? TryLock(string folder)
    {
        try
        {
            var fileLock = new FileStream(folder + Suffix, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            if (fileLock.Length == 0)
            {
                return fileLock;
            }

            // Retired (see Retire) while this was opening it: not the lock any more.
            fileLock.Dispose();
        }
        catch (IOException)
        {
        }

        return null;
    }

    /// <summary>
    /// Takes a folder's lock file, waiting while another process holds it; past <paramref name="timeout"/>, throws the
    /// <see cref="IOException"/> that says why it could not.
    /// </summary>
    public static async Task<FileStream> AcquireAsync(string folder, TimeProvider timeProvider, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var path = folder + Suffix;
        var started = timeProvider.GetTimestamp();
        while (true)
        {
            FileStream? fileLock = null;
            try
            {
                fileLock = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException e) when (e is not (DirectoryNotFoundException or FileNotFoundException or PathTooLongException) &&
                timeProvider.GetElapsedTime(started) < timeout)
            {
                // Another process is extracting the same archive: wait for it, then use its result.
            }

            if (fileLock is not null)
            {
                if (fileLock.Length == 0)
                {
                    return fileLock;
                }

                // Retired (see Retire) while this was opening it: the path names another file now, or none.
                await fileLock.DisposeAsync();
                if (timeProvider.GetElapsedTime(started) >= timeout)
                {
                    throw new IOException(
                        $"The lock file '{path}' is not empty, so it is not a lock this plugin cache made: delete it, and the archive is extracted again.");
                }
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), timeProvider, cancellationToken);
        }
    }

    /// <summary>
    /// Releases a lock and deletes its file, for a folder that is not to be made (a refused archive) or is gone. On
    /// Unix, where taking a lock is opening the file and then locking it, the file is deleted while still held, then
    /// marked by making it non-empty: a waiter that opened it just before the deletion sees the mark once it gets the
    /// lock and opens the path again, so two processes never hold one lock each. On Windows opening is locking, so
    /// the file is released first and then deleted, unless someone took it meanwhile.
    /// </summary>
    public static void Retire(FileStream fileLock)
    {
        var path = fileLock.Name;
        try
        {
            if (OperatingSystem.IsWindows())
            {
                fileLock.Dispose();
                File.Delete(path);
                return;
            }

            File.Delete(path);
            fileLock.WriteByte(1);
            fileLock.Flush();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Kept: a lock file that stays is harmless, and the clean-up tries again.
        }
        finally
        {
            fileLock.Dispose();
        }
    }
}
