namespace Decart.Rtc.Tests;

internal static class Hex
{
    /// <summary>Hex as RFCs print it (spaces, line breaks) to bytes.</summary>
    public static byte[] Parse(string text) => Convert.FromHexString(new string(text.Where(Uri.IsHexDigit).ToArray()));
}
