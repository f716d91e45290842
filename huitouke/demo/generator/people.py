"""Customers: who they are (names, handles, contact data, places, birthdays, preferences), their orders, tags,
notes and consents."""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, timedelta

from huitouke.demo import data
from huitouke.demo.generator.orders import Orders
from huitouke.demo.generator.rows import Chunk


class People(Orders):
    """The customer draws of DemoGenerator."""

    def _chinese_name(self, gender: str) -> tuple[str, str, str]:
        """(name, surname pinyin, given-name pinyin)."""
        rng = self.rng
        surname, sp, _w = data.SURNAMES[
            min(len(data.SURNAMES) - 1, bisect_right(self.surname_cum, rng.random() * self.surname_cum[-1]))
        ]
        pool = data.GIVEN_FEMALE if gender == "f" else data.GIVEN_MALE if gender == "m" else data.GIVEN_FEMALE
        first = pool[int(rng.random() * len(pool))]
        if rng.random() < 0.3:
            return surname + first[0], sp, first[1]
        second = pool[int(rng.random() * len(pool))]
        return surname + first[0] + second[0], sp, first[1] + second[1]

    def _unique_handle(self, base: str) -> str:
        handle = base
        rng = self.rng
        while handle in self.handles:
            handle = base + str(rng.randrange(1, 10 ** rng.randint(2, 4)))
        self.handles.add(handle)
        return handle

    def _taobao_handle(self, name: str, sp: str, gp: str) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.22:
            base = (
                f"tb_{rng.randrange(1_000_000, 99_999_999)}"
                if rng.random() < 0.5
                else f"tb{rng.randrange(10**8, 10**10)}"
            )
        elif r < 0.55:
            base = rng.choice(data.NICK_HEADS) + rng.choice(data.NICK_LINKS) + rng.choice(data.NICK_TAILS)
        elif r < 0.65:
            base = rng.choice(data.NICK_WORDS)
            if rng.random() < 0.5:
                base += str(rng.choice([520, 1314, 666, 888, 2018, 2020, 99, 7, 1]))
        elif r < 0.85:
            tail = rng.choice(
                ["", str(rng.randrange(1, 100)), str(rng.randrange(1975, 2006)), "_" + str(rng.randrange(10, 1000))]
            )
            base = (gp + sp if rng.random() < 0.3 else sp + gp) + tail
        else:
            base = name + str(rng.randrange(1, 10000))
        return self._unique_handle(base)

    def _phone_cn(self) -> str:
        rng = self.rng
        prefix = self.phone_prefix[bisect_right(self.phone_cum, rng.random() * self.phone_cum[-1])]
        return f"{prefix}{rng.randrange(100_000_000):08d}"

    def _birthday(self, young: bool) -> str:
        rng = self.rng
        year = int(rng.triangular(1962, 2007, 1992 if young else 1985))
        return (date(year, 1, 1) + timedelta(days=rng.randrange(365))).isoformat()

    def _customer(self, chunk: Chunk, platform: str, segment: str) -> None:
        rng = self.rng
        shop = self.shops[platform]
        cid = self._take("customer")
        r = rng.random()
        fav = data.FAVOURITE_CATEGORIES[bisect_right(self.fav_cum, rng.random() * self.fav_cum[-1])]
        self._fav = fav
        self._cycle = data.CATEGORIES[fav].cycle_days
        corporate = segment != "one" and rng.random() < 0.006
        self._corporate = corporate
        if platform == "taobao":
            gender = "f" if r < 0.6 else "m" if r < 0.95 else ""
            name, sp, gp = self._chinese_name(gender)
            handle = self._taobao_handle(name, sp, gp)
            real_name = name if rng.random() < 0.85 else ""
            phone = ""
            if rng.random() < 0.88:
                phone = self._phone_cn()
                if rng.random() < 0.3:
                    phone = phone[:3] + "****" + phone[7:]
            email = ""
            if rng.random() < 0.12:
                domain = self.email_cn[bisect_right(self.email_cn_cum, rng.random() * self.email_cn_cum[-1])]
                local = str(rng.randrange(10**6, 10**10)) if domain == "qq.com" else f"{sp}{gp}{rng.randrange(1, 1000)}"
                email = f"{local}@{domain}"
            province, city, districts = self.region_rows[
                bisect_right(self.region_cum, rng.random() * self.region_cum[-1])
            ]
            district = districts[int(rng.random() * len(districts))]
            address = (
                f"{rng.choice(data.ROADS)}{rng.choice(data.ROAD_KINDS)}{rng.randrange(1, 900)}号"
                f"{rng.choice(data.ESTATE_HEADS)}{rng.choice(data.ESTATE_TAILS)}"
                f"{rng.randrange(1, 30)}栋{rng.randrange(1, 6)}单元{rng.randrange(1, 33)}0{rng.randrange(1, 5)}室"
            )
            birthday = self._birthday(young=True) if rng.random() < 0.4 else None
            calendar = "lunar" if birthday and rng.random() < 0.25 else "solar"
            receiver_phone = phone if phone else f"1{rng.randrange(30, 99)}****{rng.randrange(10000):04d}"
            receiver_address = f"{province}{city}{district}{address}"
            remote = province in data.REMOTE_PROVINCES
        else:
            gender = "f" if r < 0.55 else "m" if r < 0.95 else ""
            first = rng.choice(data.EN_FIRST_FEMALE if gender == "f" else data.EN_FIRST_MALE)
            last = rng.choice(data.EN_LAST)
            name = f"{first} {last}"
            real_name = name
            domain = self.email_en[bisect_right(self.email_en_cum, rng.random() * self.email_en_cum[-1])]
            local = rng.choice([f"{first}.{last}", f"{first}{last[0]}", f"{first[0]}{last}", f"{first}{last}"]).lower()
            email = handle = self._unique_handle(f"{local}{rng.choice(['', '', str(rng.randrange(1, 100))])}@{domain}")
            province, cities, country = data.EN_PLACES[
                bisect_right(self.en_place_cum, rng.random() * self.en_place_cum[-1])
            ]
            city = rng.choices([c for c, _w in cities], weights=[w for _c, w in cities])[0]
            district = ""
            address = f"{rng.randrange(10, 9999)} {rng.choice(data.EN_STREETS)}"
            if rng.random() < 0.3:
                address += f" Apt {rng.randrange(1, 40)}"
            phone = f"+{country}{rng.randrange(2_000_000_000, 9_999_999_999)}" if rng.random() < 0.35 else ""
            birthday = self._birthday(young=False) if rng.random() < 0.25 else None
            calendar = "solar"
            receiver_phone = phone
            receiver_address = f"{address}, {city}, {province}"
            remote = False

        prefs = ("", "", "", "")
        price_strict = False
        if rng.random() < 0.25:
            prefs = (
                rng.choice(["alone", "recommend", "recommend", ""]),
                rng.choice(["quick", "slow", ""]),
                rng.choice(["easy", "strict", "strict", ""]),
                rng.choice(["novice", "partial", "partial", "expert", ""]),
            )
            price_strict = prefs[2] == "strict"

        days = self._order_days(segment, shop.calendar)
        bought_gift = False
        first_ts = last_ts = 0
        for n, day in enumerate(days):
            ts, gift = self._order(chunk, shop, cid, day, real_name or name, receiver_phone,
                                   receiver_address, remote)  # fmt: skip
            bought_gift = bought_gift or gift
            if n == 0:
                first_ts = ts
            last_ts = max(last_ts, ts)
        created = self.clock.fmt(first_ts)
        updated = self.clock.fmt(last_ts)
        chunk.customers.append(
            (cid, created, updated, name, real_name, gender, birthday, calendar, phone, email, province, city,
             district, address, *prefs, None, None, 0, "0.00", None, None, None)
        )  # fmt: skip
        chunk.identities.append((self._take("identity"), created, created, cid, platform, handle))

        tags: list[str] = []
        if segment == "loyal" and rng.random() < 0.6:
            tags.append("老客户")
        if fav == "绿茶" and segment != "one" and rng.random() < 0.4:
            tags.append("爱喝绿茶")
        if fav == "红茶" and segment != "one" and rng.random() < 0.4:
            tags.append("爱喝红茶")
        if fav in ("坚果", "果干", "饼干糕点", "肉脯卤味") and segment != "one" and rng.random() < 0.35:
            tags.append("零食控")
        if bought_gift and rng.random() < 0.4:
            tags.append("送礼客户")
        if price_strict and rng.random() < 0.7:
            tags.append("价格敏感")
        if corporate:
            tags.append("企业采购")
        if rng.random() < 0.01:
            tags.append("需跟进")
        for tag in tags:
            chunk.customertags.append((self._take("customertag"), cid, self.tag_ids[tag], updated))

        if platform == "taobao" and rng.random() < (0.12 if segment == "loyal" else 0.02):
            for _ in range(1 if rng.random() < 0.8 else 2):
                at = self.clock.fmt(rng.randrange(first_ts, max(first_ts + 1, last_ts + 86400)))
                body = data.NOTES[int(rng.random() * len(data.NOTES))]
                pinned = rng.random() < 0.2
                no_follow_up = (None, None, None)  # follow_up_on, follow_up_owner_id, follow_up_done_at
                chunk.notes.append((self._take("note"), at, at, cid, self.note_author_id, body, pinned, *no_follow_up))

        if platform == "taobao":
            if phone and "*" not in phone:
                if rng.random() < 0.45:
                    chunk.consents.append(
                        (self._take("consent"), created, created, cid, "sms", "care", True, "下单时同意")
                    )
                m = rng.random()
                if m < 0.3:
                    chunk.consents.append(
                        (self._take("consent"), created, created, cid, "sms", "marketing", True, "会员入会同意")
                    )
                elif m < 0.36:
                    chunk.consents.append(
                        (self._take("consent"), updated, updated, cid, "sms", "marketing", False, "回复TD退订")
                    )
            if email and rng.random() < 0.25:
                chunk.consents.append(
                    (self._take("consent"), created, created, cid, "email", "marketing", True, "会员入会同意")
                )
        else:
            m = rng.random()
            if m < 0.55:
                chunk.consents.append(
                    (self._take("consent"), created, created, cid, "email", "marketing", True, "Shopify checkout")
                )
            elif m < 0.65:
                chunk.consents.append(
                    (self._take("consent"), updated, updated, cid, "email", "marketing", False, "unsubscribe link")
                )
