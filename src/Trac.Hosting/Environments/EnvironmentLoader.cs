using System.Text;
using Microsoft.Extensions.Configuration;

namespace Trac.Hosting.Environments;

/// <summary>
/// Opens an environment directory the way Trac's <c>open_environment</c> does: checks <c>VERSION</c>, then reads
/// and parses <c>conf/trac.ini</c>, with Trac's error messages. Each failure also has a message for clients that names
/// the environment and the file inside it instead of their absolute paths.
/// </summary>
internal static class EnvironmentLoader
{
    /// <summary>The file of an environment's configuration, relative to the environment, as clients are shown it.</summary>
    internal const string ConfigurationFile = "conf/trac.ini";

    public static EnvironmentState Load(string name, string path, Uri? baseUrl, TimeProvider timeProvider)
    {
        string firstLine;
        try
        {
            using var reader = new StreamReader(System.IO.Path.Combine(path, "VERSION"), Encoding.UTF8);
            firstLine = (reader.ReadLine() ?? string.Empty).TrimEnd();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return EnvironmentState.Failed($"No Trac environment found at {path}", $"No Trac environment found at '{name}'", e.Message);
        }

        if (!string.Equals(firstLine, TracEnvironment.VersionString, StringComparison.Ordinal))
        {
            var unknown = $"Unknown Trac environment type '{firstLine}'";
            return EnvironmentState.Failed(unknown, unknown);
        }

        var iniPath = System.IO.Path.Combine(path, "conf", "trac.ini");
        byte[] ini;
        try
        {
            ini = ReadStable(iniPath);
        }
        catch (Exception e) when ((e is FileNotFoundException or DirectoryNotFoundException) && !Directory.Exists(iniPath))
        {
            return EnvironmentState.Failed(
                $"The configuration file is not found at {iniPath}", $"The configuration file is not found at {ConfigurationFile}", e.Message);
        }
        catch (FileNotFoundException) when (Directory.Exists(iniPath))
        {
            return EnvironmentState.Failed(
                $"The configuration file {iniPath} cannot be read", $"The configuration file {ConfigurationFile} cannot be read", "it is a directory");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return EnvironmentState.Failed(
                $"The configuration file {iniPath} cannot be read", $"The configuration file {ConfigurationFile} cannot be read", e.Message);
        }

        IConfiguration configuration;
        try
        {
            // Parsed from the bytes just read, so the snapshot is exactly one version of the file.
            using var stream = new MemoryStream(ini, writable: false);
            configuration = new ConfigurationBuilder().AddIniStream(stream).Build();
        }
        catch (FormatException e)
        {
            return EnvironmentState.Failed(
                $"The configuration file {iniPath} is not valid INI", $"The configuration file {ConfigurationFile} is not valid INI", e.Message);
        }

        return EnvironmentState.Opened(new TracEnvironment(name, path, configuration, timeProvider.GetUtcNow(), baseUrl));
    }

    // Reads a file that may be being written: retried while its size or time stamp changes under the read.
    private static byte[] ReadStable(string path)
    {
        for (var attempt = 1; ; attempt++)
        {
            var before = Stamp(path);
            var content = File.ReadAllBytes(path);
            if (attempt == 3 || Stamp(path) == before)
            {
                return content;
            }
        }
    }

    private static (long Length, DateTime Written) Stamp(string path)
    {
        var info = new FileInfo(path);
        return (info.Length, info.LastWriteTimeUtc);
    }
}
