// Driver of the Java family: runs one harness scenario (or a tool mode) and prints the result line.
package dev.zombi.compat;

import java.util.Arrays;
import java.util.concurrent.ExecutionException;
import java.io.InputStream;
import java.util.Properties;

public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      System.err.println("usage: Main <scenario> | version | fault-produce <bootstrap> <topic> <count> | fixture-produce <bootstrap> <topic-prefix> | dump <bootstrap> <topic> <partition> <earliest|offset> <count> | txn-shell (commands on stdin) | group-members <bootstrap> <topic> <group> <count> <consumer|classic>");
      System.exit(2);
    }
    String mode = args[0];
    String[] rest = Arrays.copyOfRange(args, 1, args.length);
    switch (mode) {
      case "version" -> System.out.println(clientVersion());
      case "fault-produce" -> FaultProducer.run(rest);
      case "fixture-produce" -> FixtureProducer.run(rest);
      case "dump" -> RecordDumper.run(rest);
      case "txn-shell" -> TxnShell.run();
      case "group-members" -> GroupMembers.run(rest);
      default -> runScenario(mode);
    }
    // Client threads (metadata refresh, heartbeats of a failed scenario) must not keep the JVM alive.
    System.exit(0);
  }

  private static void runScenario(String scenario) {
    String status;
    String detail;
    try {
      Scenarios scenarios = new Scenarios(requireEnv("COMPAT_BOOTSTRAP"), requireEnv("COMPAT_TOPIC"), System.getenv("COMPAT_GROUP"));
      detail = scenarios.run(scenario);
      status = "pass";
    } catch (Scenarios.Skip skip) {
      status = "skip";
      detail = skip.getMessage();
    } catch (Throwable error) {
      error.printStackTrace();
      status = "fail";
      detail = describe(error);
    }
    System.out.println("{\"status\":" + Json.string(status) + ",\"detail\":" + Json.string(detail) + "}");
    System.out.flush();
  }

  /** kafka-clients' own version file (AppInfoParser moved between 3.x and 4.x; this file did not). */
  private static String clientVersion() throws Exception {
    try (InputStream in = Main.class.getClassLoader().getResourceAsStream("kafka/kafka-version.properties")) {
      Properties properties = new Properties();
      properties.load(in);
      return properties.getProperty("version");
    }
  }

  private static String requireEnv(String name) {
    String value = System.getenv(name);
    if (value == null || value.isEmpty()) throw new IllegalStateException(name + " is not set");
    return value;
  }

  /** The root cause in one short line: futures wrap the client's real exception. */
  static String describe(Throwable error) {
    Throwable cause = error;
    while (cause instanceof ExecutionException && cause.getCause() != null) cause = cause.getCause();
    String text = cause.getClass().getSimpleName() + ": " + cause.getMessage();
    return text.length() > 600 ? text.substring(0, 600) + "..." : text;
  }
}
