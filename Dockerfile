# Builds lazydir and runs it; the fanotify daemon (coming) will need --cap-add SYS_ADMIN and a bind mount.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY pom.xml .
RUN mvn -q -B dependency:go-offline
COPY src src
RUN mvn -q -B -DskipTests package

FROM eclipse-temurin:17-jre
COPY --from=build /src/target/lazydir.jar /opt/lazydir/lazydir.jar
ENV LC_ALL=C.UTF-8
ENTRYPOINT ["java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", "/opt/lazydir/lazydir.jar"]
