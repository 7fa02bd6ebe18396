namespace Trac.Hosting.Login;

/// <summary>The base-64 alphabet of Unix <c>crypt</c> hashes (<c>./0-9A-Za-z</c>), least significant six bits first.</summary>
internal static class CryptAlphabet
{
    private const string Alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// <summary>Appends the <paramref name="count"/> characters of the 24-bit group <c>b2 b1 b0</c>.</summary>
    public static void Append(System.Text.StringBuilder text, byte b2, byte b1, byte b0, int count)
    {
        var value = (b2 << 16) | (b1 << 8) | b0;
        for (var i = 0; i < count; i++)
        {
            text.Append(Alphabet[value & 0x3f]);
            value >>= 6;
        }
    }

    /// <summary>Returns whether every character is of the alphabet.</summary>
    public static bool IsCryptText(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!Alphabet.Contains(c, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }
}
