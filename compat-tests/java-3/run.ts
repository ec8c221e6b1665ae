// Apache Kafka's Java client, kafka-clients 3.x (Maven Central), against Zombi: the driver in compat-tests/java.
import { runJavaFamily } from '../java/family.ts'

runJavaFamily('3')
