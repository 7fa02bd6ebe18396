using Microsoft.Extensions.Logging;
using Trac.Hosting.Diagnostics;

namespace Trac.Hosting.PluginCache;

/// <summary>
/// Makes a cache directory ready: created owner-only (0700) when missing, refused when group or others can write
/// it, and proven writable with a probe file. Every failure names the path, the operating system's error and the two
/// ways to choose another directory.
/// </summary>
internal static class PluginCacheDirectory
{
    private const string HowToChange =
        "Set Trac:PluginCache:Directory, or the process variable PYTHON_EGG_CACHE, to a directory only this application's user can write.";

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <exception cref="InvalidOperationException">The directory cannot be used; the message says why and how to fix it.</exception>
    public static void Prepare(string path, bool allowInsecure, ILogger logger)
    {
        try
        {
            if (!Directory.Exists(path))
            {
                if (OperatingSystem.IsWindows())
                {
                    Directory.CreateDirectory(path);
                }
                else
                {
                    Directory.CreateDirectory(path, OwnerOnly);
                }
            }
            else if (!OperatingSystem.IsWindows())
            {
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

                    Log.InsecurePluginCacheAccepted(logger, path, octal);
                }
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
}
