using System.Diagnostics;

namespace Trac.Hosting.Tests.Support;

/// <summary>
/// Apache's own password tools (<c>htpasswd</c>, <c>htdigest</c>, from apache2-utils, which <c>.ci/run</c> installs),
/// run as child processes to write the files the tests read; each is waited for, and killed if it hangs.
/// </summary>
internal static class ApacheTools
{
    /// <summary>Runs <c>htpasswd -b</c> with <paramref name="arguments"/> (options, file, user, password).</summary>
    public static Task HtpasswdAsync(params string[] arguments) => RunAsync("htpasswd", ["-b", .. arguments], input: null);

    /// <summary>Runs <c>htdigest</c> with <paramref name="arguments"/> (<c>[-c] file realm user</c>), typing the password twice.</summary>
    public static Task HtdigestAsync(string[] arguments, string password) =>
        // htdigest asks for the password twice; without a terminal it reads the answers from its standard input.
        RunAsync("htdigest", arguments, $"{password}\n{password}\n");

    private static async Task RunAsync(string tool, string[] arguments, string? input)
    {
        var start = new ProcessStartInfo(tool)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
        }

        process.StandardInput.Close();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
                await process.WaitForExitAsync();
            }
        }

        Assert.True(process.ExitCode == 0, $"{tool} {string.Join(' ', arguments)} failed: {await errors}{await output}");
    }
}
