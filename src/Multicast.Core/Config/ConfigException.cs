namespace Multicast.Core.Config;

/// <summary>A configuration problem, with a message fit to print as the one error line a user sees.</summary>
public sealed class ConfigException(string message, Exception? inner = null) : Exception(message, inner);
