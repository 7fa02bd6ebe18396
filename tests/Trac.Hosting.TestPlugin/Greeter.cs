namespace Trac.Hosting.TestPlugin;

/// <summary>What a plugin does: greets, and, for leak tests, keeps memory in a static as leaking code does.</summary>
public static class Greeter
{
    private static readonly List<byte[]> s_kept = [];

    /// <summary>Returns a greeting that names the plugin.</summary>
    /// <param name="name">Who to greet.</param>
    /// <returns>The greeting.</returns>
    public static string Hello(string name) => $"Hello, {name}, from the plugin";

    /// <summary>Keeps <paramref name="bytes"/> bytes for ever (until the plugin's load context is unloaded).</summary>
    /// <param name="bytes">How much to keep.</param>
    /// <returns>How many blocks are kept now.</returns>
    public static int Keep(int bytes)
    {
        lock (s_kept)
        {
            s_kept.Add(new byte[bytes]);
            return s_kept.Count;
        }
    }
}
