using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Trac.Hosting.Diagnostics;

namespace Trac.Hosting.PluginCache;

/// <summary>
/// Makes a cache directory ready: created owner-only (0700) when missing, then always checked — a real directory,
/// not a symbolic link; on Linux owned by the process's user; not writable by group or others — and proven
/// writable with a probe file. Every failure names the path, the operating system's error and the two ways to
/// choose another directory.
/// </summary>
internal static partial class PluginCacheDirectory
{
    private const string HowToChange =
        "Set Trac:PluginCache:Directory, or the process variable PYTHON_EGG_CACHE, to a directory only this application's user can write.";

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <exception cref="InvalidOperationException">The directory cannot be used; the message says why and how to fix it.</exception>
    public static void Prepare(string path, bool allowInsecure, ILogger logger)
    {
        try
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(path);
            }
            else
            {
                // Checked after creating too: someone else may have created it first, with other rights.
                Directory.CreateDirectory(path, OwnerOnly);
                CheckOwnership(path, allowInsecure, logger);
            }

            var probe = Path.Combine(path, $".probe-{Guid.NewGuid():N}");
            using (var stream = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
                stream.WriteByte(0);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"The plugin cache directory '{path}' cannot be used: {e.Message} {HowToChange}", e);
        }
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void CheckOwnership(string path, bool allowInsecure, ILogger logger)
    {
        if (new DirectoryInfo(path).LinkTarget is { } target)
        {
            throw new InvalidOperationException(
                $"The plugin cache directory '{path}' is a symbolic link (to '{target}'), which whoever can change the link controls. " +
                $"Point the setting at the real directory: {HowToChange}");
        }

        if (OperatingSystem.IsLinux() && Owner(path) is { } owner && owner != geteuid())
        {
            throw new InvalidOperationException(
                $"The plugin cache directory '{path}' belongs to another user (uid {owner}), who could replace the plugins this application " +
                $"loads. {HowToChange}");
        }

        var mode = File.GetUnixFileMode(path);
        if ((mode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            var octal = Convert.ToString((int)mode & 0x1FF, 8).PadLeft(4, '0');
            if (!allowInsecure)
            {
                throw new InvalidOperationException(
                    $"The plugin cache directory '{path}' is writable by group or others (mode {octal}), so another user could replace " +
                    $"the plugins this application loads. Run 'chmod 700 {path}', or choose another directory: {HowToChange} " +
                    "(Trac:PluginCache:AllowInsecureDirectory accepts it at your own risk.)");
            }

            PluginCacheLog.InsecurePluginCacheAccepted(logger, path, octal);
        }
    }

    // statx has one layout on every Linux architecture: stx_uid is the 32-bit value at offset 20.
    private static uint? Owner(string path)
    {
        const int AtFdCwd = -100;
        const int AtSymlinkNoFollow = 0x100;
        const uint StatxUid = 0x8;
        var buffer = new byte[256];
        return statx(AtFdCwd, path, AtSymlinkNoFollow, StatxUid, buffer) == 0 ? BitConverter.ToUInt32(buffer, 20) : null;
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int statx(int directoryFd, string path, int flags, uint mask, [Out] byte[] buffer);

    [LibraryImport("libc")]
    private static partial uint geteuid();
}
